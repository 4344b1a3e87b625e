import AgentCore
import Foundation
import Postgres

/// What a handler may touch: its transaction, and the events and messages it emits. Everything
/// emitted is written to the event log and the outbox in the same transaction as the handler's
/// state change, and published only after commit.
public final class HandlerContext {
    /// The open transaction; the handler changes its own tables through it.
    public let db: PostgresConnection
    /// The component name recorded as each event's producer.
    public let producer: String
    public let topology: Topology
    /// The events emitted, each written once: its body for the outbox, its payload and subjects
    /// for the log's columns.
    private(set) var events: [(event: EventEnvelope, encoded: EncodedEvent)] = []
    private(set) var messages: [OutboxMessage] = []

    init(db: PostgresConnection, producer: String, topology: Topology) {
        self.db = db
        self.producer = producer
        self.topology = topology
    }

    /// Records an event in the log and queues it for the events exchange (routing key = type).
    public func emit(_ event: EventEnvelope, priority: UInt8? = nil) throws {
        try emit(event, priority: priority, encoded: event.encodedParts())
    }

    /// The same, with the event already encoded, when the caller needs its body for more messages.
    public func emit(_ event: EventEnvelope, priority: UInt8? = nil, encoded: EncodedEvent) throws {
        try event.validate()
        var message = OutboxMessage(
            exchange: topology.eventsExchange, routingKey: event.type, messageID: event.id.lowercaseText,
            properties: .init(
                type: event.type, priority: priority, correlationID: (event.correlationID ?? event.id).lowercaseText),
            body: encoded.body)
        message.packable = true
        try send(message)
        events.append((event, encoded))
    }

    /// Queues a message that is not an event of record, such as a reply on `reply_to`. A message
    /// AMQP could not carry fails here, in the handler, rather than later in the relay.
    public func send(_ message: OutboxMessage) throws {
        if let problem = message.validationError {
            throw OutboxMessageError(reason: "cannot send to \(message.exchange)/\(message.routingKey): \(problem)")
        }
        messages.append(message)
    }
}

public struct OutboxMessageError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
