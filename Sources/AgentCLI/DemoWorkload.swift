import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres

/// Drives the demo: events in, wait for demo-worker, summary out.
struct DemoWorkload {
    let config: AgentConfig
    let count: Int
    let timeout: Duration
    static let accounts = ["alpha", "beta", "gamma", "delta"]

    func run() throws {
        let pool = PostgresPool(url: config.databaseURL, maxConnections: 2, applicationName: "agentctl")
        defer { pool.close() }
        let amqpURL = try AMQPURL(parsing: config.amqpURL)
        let topology = Topology(prefix: config.topologyPrefix)
        try Migrator.bundled().migrate(pool)

        // Make sure the worker's queue exists before anything is published to it.
        let connection = try AMQPConnection(url: amqpURL)
        defer { connection.close() }
        try connection.enableConfirms()
        try topology.declare(
            InputQueue(name: topology.queueName("demo-worker"), bindings: ["demo.task"]), on: connection)

        let run = UUID()
        var expected: [String: Int] = [:]
        var events: [EventEnvelope] = []
        for index in 0..<count {
            let account = Self.accounts[index % Self.accounts.count]
            let amount = index % 7 + 1
            expected[account, default: 0] += amount
            events.append(task(account: account, amount: amount, run: run))
        }
        let frozen = task(account: "frozen", amount: 1, run: run)
        let started = ContinuousClock.now
        print("run \(run.uuidString.lowercased()): recording \(count) demo.task events (+1 the worker will fail on)")
        for chunk in stride(from: 0, to: events.count, by: 5_000) {
            try EventRecorder.record(Array(events[chunk..<min(chunk + 5_000, events.count)]), topology: topology, pool: pool)
        }
        try EventRecorder.record([frozen], topology: topology, pool: pool)
        let relay = OutboxRelay(
            amqpURL: amqpURL, databaseURL: config.databaseURL, pool: pool, logger: Logger(label: "agentctl"))
        _ = try relay.drain()
        print("recorded \(count + 1) events in the log and the outbox; relayed to the broker with publisher confirms")

        // One message that is not an event at all: it must end in the dead-letter queue.
        try connection.publish(
            AMQPOutgoingMessage(
                exchange: topology.eventsExchange, routingKey: "demo.task",
                properties: AMQPProperties(contentType: "application/json", messageID: "malformed-\(run.uuidString.lowercased())"),
                body: Data(#"{"type": "demo.task", "payload": "not an envelope"#.utf8)))
        print("published 1 malformed message")

        let ids = events.map { $0.id.uuidString.lowercased() }
        let deadline = ContinuousClock.now + timeout
        var applied = 0
        var lastReport = ContinuousClock.now
        while applied < count {
            applied = try pool.withConnection { db in
                try db.query(
                    "SELECT count(*) FROM inbox WHERE consumer = 'demo-worker' AND message_id = ANY($1::text[])", [ids]
                )[0].decode(0, as: Int.self)
            }
            if applied >= count { break }
            guard ContinuousClock.now < deadline else {
                throw DemoError(reason: "only \(applied) of \(count) tasks applied after \(timeout): is demo-worker running?")
            }
            if ContinuousClock.now - lastReport > .seconds(2) {
                print("  applied \(applied)/\(count)")
                lastReport = ContinuousClock.now
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let elapsed = ContinuousClock.now - started
        // The frozen task is retried, then dead-lettered; the worker's relay publishes demo.applied
        // events a moment after commit. Give both a few seconds before summarising.
        waitUntil(deadline: ContinuousClock.now + .seconds(15)) {
            (try? pool.withConnection { db in
                try db.query(
                    "SELECT count(*) FROM inbox_failures WHERE consumer = 'demo-worker' AND message_id = $1 AND attempts >= $2",
                    [frozen.id.uuidString.lowercased(), config.maxAttempts])[0].decode(0, as: Int.self)
            }) == 1
        }
        try DemoSummary(pool: pool, topology: topology, amqpURL: amqpURL, run: run, expected: expected, count: count, elapsed: elapsed).print()
    }

    private func task(account: String, amount: Int, run: UUID) -> EventEnvelope {
        EventEnvelope(
            type: "demo.task", producer: "agentctl", tenant: "demo", subjects: ["account": account],
            correlationID: run, payload: .object(["account": .string(account), "amount": .number(Double(amount))]))
    }

    private func waitUntil(deadline: ContinuousClock.Instant, _ condition: () -> Bool) {
        while ContinuousClock.now < deadline, !condition() {
            Thread.sleep(forTimeInterval: 0.2)
        }
    }
}

struct DemoError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
