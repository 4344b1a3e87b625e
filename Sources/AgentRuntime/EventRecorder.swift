import AgentCore
import Postgres

/// For producers outside a consumer (agentctl, the REST API): records events in the log and the
/// outbox in one transaction, with any state change the caller makes in `body`. The relay of any
/// running worker (or `OutboxRelay.drain`) publishes them.
public enum EventRecorder {
    public static func record(
        _ events: [EventEnvelope], topology: Topology, pool: PostgresPool,
        _ body: (PostgresConnection) throws -> Void = { _ in }
    ) throws {
        try pool.transaction { db in
            try body(db)
            let context = HandlerContext(db: db, producer: events.first?.producer ?? "agentctl", topology: topology)
            for event in events { try context.emit(event) }
            try OutboxStore.write(events: context.events, messages: context.messages, in: db)
        }
    }
}

extension EventRecorder {
    /// Appends events to the log and the outbox inside a transaction the caller already holds.
    /// `messages` go to the outbox as they are (not events of record), e.g. a placement copied to
    /// the placements exchange for each node it uses.
    /// `encoded`: one per event, the event already encoded or nil, when the caller has them.
    /// `along`: the caller's own statements, run first, in the same round trip.
    /// `relay`: the worker whose relay should publish them, when the caller runs inside one (its
    /// name as `WorkerApp` was given it); nil: any relay.
    public static func append(
        _ events: [(event: EventEnvelope, priority: UInt8?)], encoded: [EncodedEvent?]? = nil, messages: [OutboxMessage] = [],
        along: [PostgresStatement] = [], relay: String? = nil, topology: Topology, in db: PostgresConnection
    ) throws {
        guard !events.isEmpty || !messages.isEmpty else {
            try db.pipeline(along)
            return
        }
        let context = HandlerContext(db: db, producer: events.first?.event.producer ?? "agentmgr", topology: topology)
        for (index, (event, priority)) in events.enumerated() {
            if let known = encoded.flatMap({ index < $0.count ? $0[index] : nil }) {
                try context.emit(event, priority: priority, encoded: known)
            } else {
                try context.emit(event, priority: priority)
            }
        }
        for message in messages { try context.send(message) }
        try OutboxStore.write(
            events: context.events, messages: context.messages, along: along, relay: relay ?? "", in: db)
    }
}

extension OutboxRelay {
    /// Publishes everything in the outbox that no other relay holds, then returns the count.
    public func drain() throws -> Int {
        let publisher = try AMQPConnectionFactory.confirmed(amqpURL)
        defer { publisher.close() }
        var total = 0
        while true {
            let sent = try relayBatch(with: publisher)
            total += sent
            if sent == 0 { return total }
        }
    }

    /// Rows still waiting in the outbox.
    public func backlog() throws -> Int {
        try pool.withConnection { try $0.query("SELECT count(*) FROM outbox")[0].decode(0, as: Int.self) }
    }
}
