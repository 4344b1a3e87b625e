import AgentCore

extension OutboxMessage {
    /// `messages` with each run of consecutive events of one type and destination (exchange and
    /// routing key: on the placements exchange, one node) packed into batch messages of at most `EventBatch.maxEvents` (docs/events.md, "Batches"). Order is kept: a
    /// queue bound to several types sees the events in the order they were emitted. A lone event
    /// stays a plain message.
    static func packingEvents(_ messages: [OutboxMessage]) -> [OutboxMessage] {
        var packed: [OutboxMessage] = []
        packed.reserveCapacity(messages.count)
        var run: [OutboxMessage] = []
        func flush() {
            if run.count == 1 { packed.append(run[0]) } else if !run.isEmpty { packed.append(batch(of: run)) }
            run.removeAll(keepingCapacity: true)
        }
        for message in messages {
            if let first = run.first,
                !message.packable || message.routingKey != first.routingKey || message.exchange != first.exchange
                    || message.properties.type != first.properties.type || run.count == EventBatch.maxEvents
            {
                flush()
            }
            if message.packable { run.append(message) } else { packed.append(message) }
        }
        flush()
        return packed
    }

    /// One message carrying `events` (all of one type): a JSON array of their bodies. Its id is
    /// derived from the first event's, so it is the same at every relay attempt (and unique per
    /// destination: copies of one event to several nodes share it, each in its own queue).
    private static func batch(of events: [OutboxMessage]) -> OutboxMessage {
        let first = events[0]
        var body = "["
        body.reserveCapacity(events.reduce(2) { $0 + $1.body.utf8.count + 1 })
        for (index, event) in events.enumerated() {
            if index > 0 { body += "," }
            body += event.body
        }
        body += "]"
        let correlation = first.properties.correlationID
        return OutboxMessage(
            exchange: first.exchange, routingKey: first.routingKey, messageID: "batch-\(first.messageID)-\(events.count)",
            // Priority on an event is informational (lanes are queues): the batch carries the highest.
            properties: .init(
                type: first.properties.type, priority: events.compactMap(\.properties.priority).max(),
                correlationID: events.allSatisfy { $0.properties.correlationID == correlation } ? correlation : nil,
                headers: [EventBatch.header: String(events.count)]),
            body: body)
    }
}
