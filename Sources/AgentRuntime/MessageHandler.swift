import AMQP
import AgentCore
import Postgres

/// A worker's logic, run by the shared consumer runtime (`ConsumerLoop`).
public protocol MessageHandler: Sendable {
    associatedtype Message: Sendable

    /// Turns a delivery into the handler's input. A throw means the message is malformed: it is
    /// dead-lettered at once with the error as its reason (never retried).
    func decode(_ delivery: AMQPDelivery) throws -> Message

    /// The key that makes redeliveries harmless (the inbox key). Nil makes the message malformed.
    func messageID(of message: Message, delivery: AMQPDelivery) -> String?

    /// Applies one message inside the batch's transaction: change this worker's tables through
    /// `context.db` and emit what follows through `context`. A throw rolls the change back; after
    /// `maxAttempts` throws the message is dead-lettered with the error as reason.
    func handle(_ message: Message, context: HandlerContext) throws

    /// Applies a batch's new messages, in order, inside the batch's transaction. The default calls
    /// `handle` for each; a handler that can apply many messages in a few statements (no round
    /// trip per message) overrides it. It names the message at fault by throwing `MessageFailure`;
    /// any other error makes the runtime apply the messages one at a time to find it.
    func handleBatch(_ messages: [Message], context: HandlerContext) throws

    /// The shared rows a message will lock (an account, a tenant), if any. The runtime applies a
    /// batch in order of this key (stable, so per-key order is kept); replicas then take row locks
    /// in the same order and never deadlock each other. Default: nil (delivery order).
    func lockKey(of message: Message) -> String?

    /// Called in its own transaction for a malformed delivery, before it is dead-lettered, so a
    /// handler can answer the sender (for example a rejection on `reply_to`). Default: nothing.
    func malformed(_ delivery: AMQPDelivery, reason: String, context: HandlerContext) throws

    /// Whether a delivery that is a batch (`EventBatch`: events, or job requests submitted
    /// together) is split into its elements before `decode`. True for handlers of events and for
    /// admission; a handler that says false decodes every delivery as sent, so a batch header on
    /// its input is a malformed message.
    var splitsBatches: Bool { get }

    /// Whether applying `message` is recorded in the inbox, so that a redelivery is skipped (the
    /// default). A handler may say false for a message whose effect is idempotent by this worker's
    /// own keys: a row keyed by the job inserted `ON CONFLICT DO NOTHING`, a state only ever set,
    /// a value recomputed from all reports. Its state change is then its own deduplication record,
    /// written in the same transaction, and the inbox row (a heap row and an index entry, per
    /// message) is saved. Failures are still counted per message id (`inbox_failures`).
    func needsInbox(_ message: Message) -> Bool
}

extension MessageHandler {
    public func messageID(of message: Message, delivery: AMQPDelivery) -> String? {
        delivery.properties.messageID.flatMap { $0.isEmpty ? nil : $0 }
    }

    public func malformed(_ delivery: AMQPDelivery, reason: String, context: HandlerContext) throws {}

    public func handleBatch(_ messages: [Message], context: HandlerContext) throws {
        for (index, message) in messages.enumerated() {
            do {
                try handle(message, context: context)
            } catch let error as PostgresError where error.isRetryableTransactionFailure || error.isConnectionFailure {
                throw error  // not the message's fault
            } catch {
                throw MessageFailure(index: index, error: error)
            }
        }
    }

    public func lockKey(of message: Message) -> String? { nil }

    public var splitsBatches: Bool { false }

    public func needsInbox(_ message: Message) -> Bool { true }
}

/// Handlers whose input is an `EventEnvelope` get decoding and dedup by event id for free.
extension MessageHandler where Message == EventEnvelope {
    public func decode(_ delivery: AMQPDelivery) throws -> EventEnvelope {
        try EventEnvelope.decode(from: delivery.body)
    }

    public func messageID(of message: EventEnvelope, delivery: AMQPDelivery) -> String? {
        message.id.lowercaseText
    }

    public var splitsBatches: Bool { true }
}

/// Thrown by `handleBatch` for the message at `index` of its input: the runtime takes that message
/// out (retry count, then dead-letter) and applies the rest again.
public struct MessageFailure: Error {
    public let index: Int
    public let error: any Error

    public init(index: Int, error: any Error) {
        self.index = index
        self.error = error
    }
}
