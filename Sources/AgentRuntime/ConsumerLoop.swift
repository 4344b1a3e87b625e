import AMQP
import AgentCore
import Foundation
import Logging
import Postgres

/// The consumer runtime every worker shares. On its own thread it takes batches of deliveries and
/// for each batch: decodes (malformed → dead-letter queue), records the messages in the inbox
/// (already there → skip), runs the handler, writes what it emitted to the event log and outbox,
/// commits, and only then acknowledges. A crash anywhere loses nothing and applies nothing twice.
public final class ConsumerLoop<Handler: MessageHandler>: Sendable {
    public struct Settings: Sendable {
        /// The consumer's identity in the inbox: replicas of one worker share it.
        public var consumerName: String
        public var queue: InputQueue
        public var prefetch: Int
        public var batchSize: Int
        public var maxAttempts: Int

        public init(consumerName: String, queue: InputQueue, prefetch: Int = 500, batchSize: Int = 200, maxAttempts: Int = 5) {
            self.consumerName = consumerName
            self.queue = queue
            self.prefetch = prefetch
            self.batchSize = batchSize
            self.maxAttempts = maxAttempts
        }
    }

    let settings: Settings
    let handler: Handler
    let amqpURL: AMQPURL
    let pool: PostgresPool
    let topology: Topology
    let metrics: ConsumerMetrics
    let logger: Logger

    public init(
        settings: Settings, handler: Handler, amqpURL: AMQPURL, pool: PostgresPool, topology: Topology,
        metrics: ConsumerMetrics = ConsumerMetrics(), logger: Logger
    ) {
        self.settings = settings
        self.handler = handler
        self.amqpURL = amqpURL
        self.pool = pool
        self.topology = topology
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "agentmgr.queue"] = .string(settings.queue.name)
        self.logger = logger
        metrics.expect(queue: settings.queue.name)
    }

    /// Consumes until `stop` is requested, reconnecting with backoff after broker or database
    /// failures. On stop it finishes the batch in hand, settles it, and closes its connections.
    public func run(until stop: StopSignal) {
        var backoff = Backoff()
        while !stop.isRequested {
            do {
                let session = try ConsumerSession(loop: self, stop: stop)
                backoff.reset()
                defer { session.close() }
                try session.consume(until: stop)
            } catch {
                if stop.isRequested { break }
                let delay = backoff.next()
                logger.warning(
                    "consumer interrupted, reconnecting",
                    metadata: ["error": "\(error)", "retry_in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)"])
                metrics.reconnects.add(1)
                sleep(delay)
            }
        }
        logger.info("consumer stopped")
    }
}

/// One connected period of a ConsumerLoop: its consumer connection, and a separate confirm-mode
/// connection for dead letters (mixing confirms and deliveries on one rabbitmq-c connection would
/// let one wait swallow the other's frames).
final class ConsumerSession<Handler: MessageHandler> {
    let loop: ConsumerLoop<Handler>
    let consumer: AMQPConnection
    var deadLetterPublisher: AMQPConnection?
    /// One consumer per queue of the input, highest lane first; the index is the lane.
    let consumerTags: [String]
    var buffer: LaneBuffer
    /// How much of a batch a delivery takes: its events for handlers that split event batches.
    let weight: (AMQPDelivery) -> Int

    init(loop: ConsumerLoop<Handler>, stop: StopSignal) throws {
        self.loop = loop
        consumer = try AMQPConnection.connect(url: loop.amqpURL, shouldStop: { stop.isRequested }) { error, delay in
            loop.logger.warning("broker unreachable, retrying", metadata: ["error": "\(error)"])
        }
        try loop.topology.declare(loop.settings.queue, on: consumer)
        try consumer.setPrefetch(UInt16(clamping: loop.settings.prefetch))
        // Highest lane first, so that is what the broker starts pushing first.
        let queues = loop.settings.queue.queueNames
        let connection = consumer
        consumerTags = try queues.map { try connection.consume(queue: $0) }
        buffer = LaneBuffer(laneCount: queues.count)
        if loop.handler.splitsBatches {
            weight = { EventBatch.eventCount($0) }
        } else {
            weight = { _ in 1 }
        }
        loop.logger.info("consuming", metadata: ["queues": "\(queues.joined(separator: ","))"])
    }

    func close() {
        consumer.close()
        deadLetterPublisher?.close()
    }

    func consume(until stop: StopSignal) throws {
        while !stop.isRequested {
            loop.metrics.markAlive(queue: loop.settings.queue.name)
            if buffer.isEmpty {
                guard let first = try consumer.nextDelivery(timeout: .milliseconds(250)) else {
                    deadLetterPublisher?.serviceHeartbeats()
                    continue
                }
                buffer.add(first, lane: lane(of: first))
            }
            // Take everything already received (at most the prefetch of each lane), then decide
            // from the highest lane down.
            let limit = max(loop.settings.prefetch, loop.settings.batchSize) * consumerTags.count
            while buffer.count < limit, let next = try consumer.nextDelivery(timeout: .zero) {
                buffer.add(next, lane: lane(of: next))
            }
            try process(buffer.takeBatch(limit: loop.settings.batchSize, weight: weight))
        }
        // Stop taking messages; what the broker already pushed is requeued when the connection closes.
        for tag in consumerTags { try? consumer.cancel(consumerTag: tag) }
    }

    private func lane(of delivery: AMQPDelivery) -> Int {
        consumerTags.firstIndex(of: delivery.consumerTag) ?? consumerTags.count - 1
    }

    /// A handler threw for the message at `index` of the batch.
    private struct HandlerFailure: Error {
        /// Nil when the handler could not say which message failed.
        let index: Int?
        let error: any Error
    }

    private struct Decoded {
        let delivery: AMQPDelivery
        let message: Handler.Message
        let id: String
    }

    func process(_ batch: [AMQPDelivery]) throws {
        let settings = loop.settings
        loop.metrics.consumed.add(batch.count)
        var pending: [Decoded] = []
        for delivery in try splittingBatches(batch) {
            do {
                let message = try loop.handler.decode(delivery)
                guard let id = loop.handler.messageID(of: message, delivery: delivery) else {
                    throw MalformedMessage("message_id property is required (it is the deduplication key)")
                }
                guard !id.utf8.contains(0) else { throw MalformedMessage("message_id must not contain NUL") }
                pending.append(Decoded(delivery: delivery, message: message, id: id))
            } catch {
                try rejectMalformed(delivery, reason: "\(error)")
            }
        }

        pending = try deadLetteringExhausted(orderedByLockKey(pending))
        var requeued: Set<UInt64> = []
        // Normally the whole batch goes in one transaction; after a failure the handler could not
        // pin on one message, the rest go one per transaction to find it.
        var isolating = false
        while !pending.isEmpty {
            let chunk = isolating ? 1 : pending.count
            let started = ContinuousClock.now
            do {
                let applied = try apply(Array(pending.prefix(chunk)))
                let elapsed = ContinuousClock.now - started
                loop.metrics.handlerSeconds.record(elapsed, count: chunk)
                loop.metrics.handlerLatency.observe(elapsed, count: chunk)
                loop.metrics.applied.add(applied)
                loop.metrics.duplicates.add(chunk - applied)
                pending.removeFirst(chunk)
            } catch let failure as HandlerFailure {
                guard let index = failure.index ?? (chunk == 1 ? 0 : nil) else {
                    isolating = true
                    continue
                }
                let item = pending.remove(at: index)
                if let malformed = failure.error as? MalformedMessage {
                    try deadLetter(item.delivery, reason: "malformed message: \(malformed)", attempts: 1)  // retrying cannot help
                    continue
                }
                let attempts = try loop.pool.transaction { db in
                    try Inbox.recordFailure(item.id, consumer: settings.consumerName, error: "\(failure.error)", in: db)
                }
                if attempts >= settings.maxAttempts {
                    try deadLetter(item.delivery, reason: "handler failed \(attempts) times: \(failure.error)", attempts: attempts)
                } else {
                    loop.logger.warning(
                        "handler failed, requeueing",
                        metadata: ["message_id": "\(item.id)", "attempt": "\(attempts)", "error": "\(failure.error)"])
                    // Events of one batch share its tag: requeue it once; the inbox skips those applied.
                    if requeued.insert(item.delivery.deliveryTag).inserted {
                        try consumer.nack(item.delivery.deliveryTag, requeue: true)
                        loop.metrics.nacked.add(1)
                    }
                }
            }
        }
        // Everything else in the batch is settled by one multiple-ack (nacked tags are already
        // settled), plus single acks for what arrived after a delivery still waiting in a lower lane.
        let acks = buffer.settle(batch.map { $0.deliveryTag }, requeued: requeued)
        if let last = acks.multipleUpTo { try consumer.ack(last, multiple: true) }
        for tag in acks.singles { try consumer.ack(tag) }
        loop.metrics.acked.add(batch.count - requeued.count)
    }

    /// A message that was dead-lettered after its last attempt is never run again. It can come
    /// back: an event whose batch a sibling's failure requeued, or a message whose ack a crash
    /// lost. It is dead-lettered again (dead letters are at-least-once) and left out.
    private func deadLetteringExhausted(_ pending: [Decoded]) throws -> [Decoded] {
        let redelivered = pending.filter(\.delivery.redelivered).map { $0.id }
        guard !redelivered.isEmpty else { return pending }
        let settings = loop.settings
        let exhausted = try loop.pool.withConnection { db in
            try Inbox.exhausted(redelivered, consumer: settings.consumerName, maxAttempts: settings.maxAttempts, in: db)
        }
        guard !exhausted.isEmpty else { return pending }
        var kept: [Decoded] = []
        for item in pending {
            guard let failure = exhausted[item.id] else {
                kept.append(item)
                continue
            }
            try deadLetter(item.delivery, reason: "handler failed \(failure.attempts) times: \(failure.error)", attempts: failure.attempts)
        }
        return kept
    }

    /// One delivery per event: batches split (EventBatch), a batch that is not a JSON array
    /// dead-lettered whole.
    private func splittingBatches(_ batch: [AMQPDelivery]) throws -> [AMQPDelivery] {
        guard loop.handler.splitsBatches, batch.contains(where: EventBatch.isBatch) else { return batch }
        var deliveries: [AMQPDelivery] = []
        deliveries.reserveCapacity(batch.count)
        for delivery in batch {
            do {
                deliveries += try EventBatch.split(delivery)
            } catch {
                try rejectMalformed(delivery, reason: "event batch: \(error)")
            }
        }
        return deliveries
    }

    /// One transaction: claims the items in the inbox, hands the new ones to the handler, writes
    /// what it emitted. Returns how many were new.
    private func apply(_ items: [Decoded]) throws -> Int {
        let settings = loop.settings
        return try loop.pool.transaction { db in
            let context = HandlerContext(db: db, producer: settings.consumerName, topology: loop.topology)
            let recorded = items.map { loop.handler.needsInbox($0.message) }
            let fresh = try Inbox.claim(items.indices.filter { recorded[$0] }.map { items[$0].id }, consumer: settings.consumerName, in: db)
            var seen: Set<String> = []
            let positions = items.indices.filter {
                (!recorded[$0] || fresh.contains(items[$0].id)) && seen.insert(items[$0].id).inserted
            }
            guard !positions.isEmpty else { return 0 }
            do {
                try loop.handler.handleBatch(positions.map { items[$0].message }, context: context)
            } catch let error as PostgresError where error.isRetryableTransactionFailure || error.isConnectionFailure {
                throw error  // not the messages' fault: retry the transaction or reconnect
            } catch let failure as MessageFailure where positions.indices.contains(failure.index) {
                throw HandlerFailure(index: positions[failure.index], error: failure.error)
            } catch {
                throw HandlerFailure(index: positions.count == 1 ? positions[0] : nil, error: error)
            }
            try OutboxStore.write(events: context.events, messages: context.messages, relay: settings.consumerName, in: db)
            return positions.count
        }
    }

    /// Stable sort by the handler's lock key, so concurrent replicas lock shared rows in one order.
    private func orderedByLockKey(_ pending: [Decoded]) -> [Decoded] {
        let keys = pending.map { loop.handler.lockKey(of: $0.message) }
        guard keys.contains(where: { $0 != nil }) else { return pending }
        return pending.indices
            .sorted { (keys[$0] ?? "", $0) < (keys[$1] ?? "", $1) }
            .map { pending[$0] }
    }

    private func rejectMalformed(_ delivery: AMQPDelivery, reason: String) throws {
        let loop = self.loop
        // The hook's effects are recorded once per malformed message: a redelivery (crash before
        // the dead-letter publish or the ack) finds its inbox row and only dead-letters again.
        let body = String(decoding: delivery.body.prefix(65_536), as: UTF8.self)
        let key = "malformed-" + StableID.hex("\(delivery.properties.messageID ?? "")\u{0}\(delivery.properties.correlationID ?? "")\u{0}\(body)")
        do {
            try loop.pool.transaction { db in
                guard try !Inbox.claim([key], consumer: loop.settings.consumerName, in: db).isEmpty else { return }
                let context = HandlerContext(db: db, producer: loop.settings.consumerName, topology: loop.topology)
                try loop.handler.malformed(delivery, reason: reason, context: context)
                try OutboxStore.write(events: context.events, messages: context.messages, relay: loop.settings.consumerName, in: db)
            }
        } catch let error as PostgresError where error.isConnectionFailure {
            throw error  // reconnect and see the delivery again
        } catch {
            // A failing answer must not keep a malformed message cycling: dead-letter it anyway.
            loop.logger.error("malformed-message hook failed", metadata: ["error": "\(error)"])
        }
        try deadLetter(delivery, reason: "malformed message: \(reason)", attempts: 1)
    }

    /// Publishes the delivery, unchanged, to the dead-letter exchange with the reason in its
    /// headers, and waits for the broker's confirm. The caller acks the original afterwards.
    private func deadLetter(_ delivery: AMQPDelivery, reason: String, attempts: Int) throws {
        var properties = delivery.properties
        properties.persistent = true
        properties.expiration = nil  // a dead letter waits for a person, not a TTL
        properties.headers["x-agentmgr-reason"] = .string(String(reason.prefix(1_000)))
        properties.headers["x-agentmgr-source-queue"] = .string(loop.settings.queue.name)
        properties.headers["x-agentmgr-consumer"] = .string(loop.settings.consumerName)
        properties.headers["x-agentmgr-attempts"] = .long(Int64(attempts))
        properties.headers["x-agentmgr-original-routing-key"] = .string(delivery.routingKey)
        properties.headers["x-agentmgr-dead-lettered-at"] = .string(ISO8601.string(from: Date()))
        let message = AMQPOutgoingMessage(
            exchange: loop.topology.deadLetterExchange, routingKey: loop.settings.queue.deadLetterKey, properties: properties,
            body: delivery.body)
        do {
            try publisher().publish(message)
        } catch let error as AMQPError where error.isConnectionLost {
            deadLetterPublisher = nil  // an idle connection may have been dropped; one fresh try
            try publisher().publish(message)
        }
        loop.metrics.deadLettered.add(1)
        loop.logger.error(
            "message dead-lettered",
            metadata: [
                "message_id": "\(delivery.properties.messageID ?? "-")",
                "correlation_id": "\(delivery.properties.correlationID ?? "-")", "reason": "\(reason)",
            ])
    }

    private func publisher() throws -> AMQPConnection {
        if let deadLetterPublisher, deadLetterPublisher.isOpen { return deadLetterPublisher }
        let connection = try AMQPConnection(url: loop.amqpURL)
        try connection.enableConfirms()
        deadLetterPublisher = connection
        return connection
    }
}

/// Thrown by a handler's `decode` for input that can never be processed.
public struct MalformedMessage: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
