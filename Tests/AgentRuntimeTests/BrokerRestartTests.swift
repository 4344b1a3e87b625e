import AgentTestSupport
import AMQP
import AgentCore
import DemoLedger
import Foundation
import Logging
import Testing

@testable import AgentRuntime

/// Restarts the shared private RabbitMQ, so `make test` runs this suite on its own, after the
/// others (`swift test --filter BrokerRestartTests`).
@Suite("Broker restart", .serialized)
struct BrokerRestartTests {
    @Test("The outbox relay and a consumer survive a broker restart: every committed event arrives")
    func relaySurvivesRestart() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let observer = try env.observerQueue()
        let queue = try env.demoQueue()
        let logger = Logger(label: "test")
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: logger)
        let relaying = BackgroundLoop { relay.run(until: $0) }
        defer { _ = relaying.stopAndJoin() }
        let consumer = ConsumerLoop(
            settings: .init(consumerName: "demo-worker", queue: queue), handler: DemoLedgerHandler(),
            amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: logger)
        let consuming = BackgroundLoop { consumer.run(until: $0) }
        defer { _ = consuming.stopAndJoin() }

        let before = demoTasks(300)
        try EventRecorder.record(before, topology: env.topology, pool: env.pool)
        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger") == 300 })

        try services("stop-rabbitmq")
        let during = demoTasks(300)
        for chunk in stride(from: 0, to: 300, by: 50) {
            try EventRecorder.record(Array(during[chunk..<chunk + 50]), topology: env.topology, pool: env.pool)
        }
        #expect(try env.outboxEventCount() >= 300, "nothing can be published while the broker is down")
        try services("start-rabbitmq")

        #expect(try eventually(timeout: .seconds(90)) { try env.count("SELECT count(*) FROM demo_ledger") == 600 })
        #expect(try eventually { try env.count("SELECT count(*) FROM outbox") == 0 })

        // The observer saw every event committed: 600 tasks and 600 demo.applied.
        let committed = Set(try env.pool.withConnection { db in
            try db.query("SELECT id::text FROM events").map { try $0.decode(0, as: String.self) }
        })
        #expect(committed.count == 1_200)
        let seen = try env.observedEventIDs(queue: observer, expecting: committed.count)
        #expect(committed.subtracting(seen).isEmpty, "events lost: \(committed.subtracting(seen).count)")
    }

    private func services(_ command: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/services.sh").path, command]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "scripts/services.sh \(command) failed")
    }
}
