import AgentTestSupport
import AMQP
import AgentCore
import Foundation
import Logging
import Testing

@testable import AgentRuntime

@Suite("Exactly-once effects across crashes and shutdowns of real worker processes")
struct WorkerCrashTests {
    @Test("Two replicas, one SIGKILLed twice in the middle of its handler: every task is applied exactly once")
    func sigkillMidHandler() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        _ = try env.demoQueue()
        let tasks = demoTasks(600)
        let expectedTotal = (0..<600).reduce(0) { $0 + $1 % 5 + 1 }  // demoTasks' amounts
        try EventRecorder.record(tasks, topology: env.topology, pool: env.pool)
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "test"))
        #expect(try relay.drain() == 6, "600 events of one type go out as 6 batches of 100")

        // 5 ms per event and 50 per transaction (a batch of 100 is one delivery: 100 then): a kill
        // almost always lands inside a handler.
        let slow = env.processEnvironment(["AGENTMGR_DEMO_HANDLER_DELAY_MS": "5", "AGENTMGR_BATCH_SIZE": "50"])
        let steady = try WorkerProcess(executable: "demo-worker", environment: slow)
        var victim = try WorkerProcess(executable: "demo-worker", environment: slow)
        for threshold in [100, 250] {
            #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger") >= threshold })
            victim.kill()
            #expect(try env.count("SELECT count(*) FROM demo_ledger") < 600, "the kill must land while work remains")
            victim = try WorkerProcess(executable: "demo-worker", environment: slow)
        }

        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM inbox WHERE consumer = 'demo-worker'") == 600 })
        #expect(try env.count("SELECT count(*) FROM demo_ledger") == 600)
        #expect(try env.count("SELECT sum(applied_tasks)::bigint FROM demo_balances") == 600)
        #expect(try env.count("SELECT sum(balance)::bigint FROM demo_balances") == expectedTotal)
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'demo.applied'") == 600)
        #expect(try env.count("SELECT count(DISTINCT causation_id) FROM events WHERE type = 'demo.applied'") == 600)
        #expect(try env.count("SELECT count(*) FROM inbox_failures") == 0)
        #expect(try eventually { try env.count("SELECT count(*) FROM outbox") == 0 })
        #expect(steady.terminate() == 0)
        #expect(victim.terminate() == 0)
    }

    @Test("SIGTERM drains: the worker finishes its batch, publishes what it committed, and exits 0")
    func sigtermDrains() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        _ = try env.demoQueue()
        let observer = try env.observerQueue()
        try EventRecorder.record(demoTasks(400), topology: env.topology, pool: env.pool)
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "test"))
        _ = try relay.drain()

        let worker = try WorkerProcess(
            executable: "demo-worker",
            environment: env.processEnvironment(["AGENTMGR_DEMO_HANDLER_DELAY_MS": "5", "AGENTMGR_BATCH_SIZE": "40"]))
        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger") >= 80 })
        let status = worker.terminate(timeout: .seconds(20))
        #expect(status == 0, "worker log:\n\(worker.log.suffix(2_000))")
        let applied = try env.count("SELECT count(*) FROM demo_ledger")
        #expect(applied < 400, "it stopped taking messages")
        #expect(try env.count("SELECT count(*) FROM outbox") == 0, "the relay published everything committed before exiting")
        #expect(worker.log.contains("shutdown requested"))

        // Every demo.applied committed so far reached the broker.
        #expect(try env.observedEventIDs(queue: observer, expecting: 400 + applied, idle: .seconds(3)).count >= 400 + applied)
    }
}
