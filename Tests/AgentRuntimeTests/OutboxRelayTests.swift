import AMQP
import AgentCore
import AgentTestSupport
import Foundation
import Logging
import Postgres
import Testing

@testable import AgentRuntime

@Suite("Outbox relay")
struct OutboxRelayTests {
    @Test("A row AMQP cannot carry goes to outbox_failed with its reason; the rows around it are published in order")
    func quarantinesWhatCannotBePublished() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let observer = try env.observerQueue()
        let tooLong = String(repeating: "x", count: 300)  // AMQP short strings end at 255 bytes
        try env.pool.withConnection { db in
            for (id, type) in [("m-1", "demo.first"), ("m-2", tooLong), ("m-3", "demo.third")] {
                try db.query(
                    "INSERT INTO outbox (exchange, routing_key, message_id, properties, body) VALUES ($1, $2, $3, $4::jsonb, '{}')",
                    [env.topology.eventsExchange, "demo.x", id, "{\"type\": \"\(type)\"}"])
            }
        }
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "relay"))
        #expect(try relay.drain() == 3)
        #expect(try relay.backlog() == 0)
        #expect(try env.count("SELECT count(*) FROM outbox_failed WHERE message_id = 'm-2' AND reason LIKE '%255%'") == 1)

        let consumer = try AMQPConnection(url: env.amqpURL)
        defer { consumer.close() }
        _ = try consumer.consume(queue: observer)
        var received: [String] = []
        while let delivery = try consumer.nextDelivery(timeout: .seconds(2)) {
            received.append(delivery.properties.messageID ?? "")
            try consumer.ack(delivery.deliveryTag)
        }
        #expect(received == ["m-1", "m-3"])
    }

    @Test("The relay's delete commits lazily, in its own transaction only: the next transaction on that connection commits durably")
    func lazyCommitStaysInItsTransaction() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        _ = try env.observerQueue()
        let pool = PostgresPool(url: env.databaseURL, maxConnections: 1, applicationName: "relay-commit-test")  // one connection: the relay's
        defer { pool.close() }
        func insertRow(_ id: String) throws {
            try pool.withConnection { db in
                try db.query(
                    "INSERT INTO outbox (exchange, routing_key, message_id, properties, body) VALUES ($1, 'demo.x', $2, '{}', '{}')",
                    [env.topology.eventsExchange, id])
            }
        }
        func synchronousCommit(_ db: PostgresConnection) throws -> String {
            try db.query("SHOW synchronous_commit")[0].decode(0, as: String.self)
        }

        try insertRow("c-1")
        let inside = try pool.transaction { db in
            let taken = try OutboxStore.take(limit: 10, in: db)
            return (taken.map { $0.message.messageID }, try synchronousCommit(db))
        }
        #expect(inside.0 == ["c-1"])
        #expect(inside.1 == "off")
        #expect(try pool.withConnection { try synchronousCommit($0) } == "on")

        try insertRow("c-2")
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: pool, logger: Logger(label: "relay"))
        #expect(try relay.drain() == 1)
        #expect(try relay.backlog() == 0)
        #expect(try pool.withConnection { try synchronousCommit($0) } == "on")
    }

    @Test("A commit's notification names the worker whose relay should publish its rows; a relay wakes for its own and for anyone's")
    func notificationsNameTheRelay() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let listener = try PostgresConnection(url: env.databaseURL)
        defer { listener.close() }
        try listener.execute(script: "LISTEN agentmgr_outbox")
        let event = { EventEnvelope(type: "demo.noted", producer: "tests", payload: ["n": 1]) }

        try env.pool.transaction { db in try EventRecorder.append([(event(), nil)], relay: "scheduler", topology: env.topology, in: db) }
        #expect(try listener.nextNotification(timeout: .seconds(5))?.payload == "scheduler")
        try EventRecorder.record([event()], topology: env.topology, pool: env.pool)  // agentctl's way: no relay of its own
        #expect(try listener.nextNotification(timeout: .seconds(5))?.payload == "")

        let logger = Logger(label: "relay")
        let scheduler = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, worker: "scheduler", logger: logger)
        #expect(scheduler.wakes(for: "scheduler") && scheduler.wakes(for: ""))
        #expect(!scheduler.wakes(for: "admission"))
        let anyRows = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: logger)
        #expect(anyRows.wakes(for: "admission") && anyRows.wakes(for: ""))
    }
}
