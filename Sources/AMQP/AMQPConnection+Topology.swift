import CRabbitMQ

extension AMQPConnection {
    /// Declares a durable exchange (idempotent when the arguments match).
    public func declareExchange(_ name: String, type: AMQPExchangeType, durable: Bool = true) throws {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        amqp_exchange_declare(
            state, channel, allocations.bytes(name), allocations.bytes(type.rawValue), 0, durable ? 1 : 0, 0, 0,
            amqp_empty_table)
        try checkReply("exchange.declare \(name)")
    }

    /// Declares a queue; returns how many messages are ready in it and how many consumers it has.
    @discardableResult
    public func declareQueue(_ spec: AMQPQueueSpec) throws -> (messages: Int, consumers: Int) {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        // Streams and quorum queues must be durable; so are all of ours except exclusive reply queues.
        let durable: amqp_boolean_t = spec.exclusive ? 0 : 1
        let ok = amqp_queue_declare(
            state, channel, allocations.bytes(spec.name), 0, durable, spec.exclusive ? 1 : 0,
            spec.autoDelete ? 1 : 0, allocations.table(spec.arguments))
        try checkReply("queue.declare \(spec.name)")
        guard let ok else { throw AMQPError(.library, "queue.declare \(spec.name): empty reply") }
        return (Int(ok.pointee.message_count), Int(ok.pointee.consumer_count))
    }

    /// Declares a server-named exclusive queue (for replies) and returns its name.
    public func declareExclusiveQueue() throws -> String {
        try ensureChannel()
        let ok = amqp_queue_declare(state, channel, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table)
        try checkReply("queue.declare (exclusive)")
        guard let ok else { throw AMQPError(.library, "queue.declare (exclusive): empty reply") }
        return ok.pointee.queue.string
    }

    /// Messages ready in an existing queue (passive declare); throws `.channelClosed` 404 if it does not exist.
    public func messageCount(queue: String) throws -> Int {
        try queueState(queue).messages
    }

    /// Ready messages and consumers of an existing queue (passive declare); throws
    /// `.channelClosed` 404 if it does not exist (the next call reopens the channel).
    public func queueState(_ queue: String) throws -> (messages: Int, consumers: Int) {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        let ok = amqp_queue_declare(state, channel, allocations.bytes(queue), 1, 0, 0, 0, amqp_empty_table)
        try checkReply("queue.declare passive \(queue)")
        guard let ok else { throw AMQPError(.library, "queue.declare \(queue): empty reply") }
        return (Int(ok.pointee.message_count), Int(ok.pointee.consumer_count))
    }

    public func bindQueue(_ queue: String, exchange: String, routingKey: String) throws {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        amqp_queue_bind(
            state, channel, allocations.bytes(queue), allocations.bytes(exchange), allocations.bytes(routingKey),
            amqp_empty_table)
        try checkReply("queue.bind \(queue) to \(exchange) with \(routingKey)")
    }

    /// Removes a binding. Unbinding what is not bound succeeds (the broker treats it as done).
    public func unbindQueue(_ queue: String, exchange: String, routingKey: String) throws {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        amqp_queue_unbind(
            state, channel, allocations.bytes(queue), allocations.bytes(exchange), allocations.bytes(routingKey),
            amqp_empty_table)
        try checkReply("queue.unbind \(queue) from \(exchange) with \(routingKey)")
    }

    /// Removes every ready message from a queue; returns how many there were.
    @discardableResult
    public func purgeQueue(_ queue: String) throws -> Int {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        let ok = amqp_queue_purge(state, channel, allocations.bytes(queue))
        try checkReply("queue.purge \(queue)")
        return Int(ok?.pointee.message_count ?? 0)
    }

    public func deleteQueue(_ queue: String) throws {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        amqp_queue_delete(state, channel, allocations.bytes(queue), 0, 0)
        try checkReply("queue.delete \(queue)")
    }

    public func deleteExchange(_ exchange: String) throws {
        try ensureChannel()
        let allocations = CAllocations()
        defer { withExtendedLifetime(allocations) {} }
        amqp_exchange_delete(state, channel, allocations.bytes(exchange), 0)
        try checkReply("exchange.delete \(exchange)")
    }
}
