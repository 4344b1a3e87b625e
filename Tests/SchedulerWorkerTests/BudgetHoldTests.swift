import AMQP
import AgentCore
import AgentRuntime
import AgentTestSupport
import Foundation
import Logging
import Postgres
import SchedulerWorker
import Testing

@Suite("Tenants over budget at the scheduler: held (policy stop) or downgraded (policy downgrade)")
struct BudgetHoldTests {
    @Test("stop: the tenant's waiting jobs are held with reason budget until budget.restored; downgrade: its jobs run, marked over_budget")
    func holdsAndDowngrades() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        try SchedulerUnderTest.seedCPU(env, tenants: ["acme", "globex"])
        try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "c", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 64, memoryGiB: 256))
        let scheduler = try SchedulerUnderTest(env)
        defer { scheduler.stop() }

        func admitted(_ id: UUID, tenant: String) -> EventEnvelope {
            EventEnvelope(
                type: "job.admitted", producer: "tests", tenant: tenant,
                payload: [
                    "job_id": .string(id.uuidString.lowercased()), "priority_class": "normal", "replicas": 1,
                    "resources": ["flavor": "cpu", "gpus": 0, "cpu": 4, "memory_gib": 8], "max_runtime_seconds": 3_600,
                    "submitted_at": .string(ISO8601.string(from: Date())),
                ])
        }
        func budget(_ type: String, tenant: String, policy: String, version: Int) -> EventEnvelope {
            EventEnvelope(
                type: type, producer: "cost-accountant", tenant: tenant,
                payload: ["tenant": .string(tenant), "policy": .string(policy), "version": .number(Double(version))])
        }
        func row(_ id: UUID) throws -> (state: String, reason: String?, overBudget: Bool) {
            try env.pool.withConnection {
                guard let row = try $0.query("SELECT state, reason_code, over_budget FROM sched_jobs WHERE job_id = $1", [id]).first else {
                    return ("absent", nil, false)
                }
                return (try row.decode(0), try row.decodeIfPresent(1, as: String.self), try row.decode(2))
            }
        }

        // acme is over budget with policy stop before its job arrives; globex runs a job, then goes over with downgrade.
        let running = UUID(), held = UUID()
        try EventRecorder.record([admitted(running, tenant: "globex")], topology: env.topology, pool: env.pool)
        #expect(try eventually { try row(running).state == "scheduled" })
        try EventRecorder.record(
            [budget("budget.exceeded", tenant: "acme", policy: "stop", version: 1), budget("budget.exceeded", tenant: "globex", policy: "downgrade", version: 2)],
            topology: env.topology, pool: env.pool)
        #expect(try eventually { try row(running).overBudget })
        try EventRecorder.record([admitted(held, tenant: "acme")], topology: env.topology, pool: env.pool)
        #expect(try eventually { try row(held).reason == "budget" })
        Thread.sleep(forTimeInterval: 1.5)  // a round or more later: still held, though capacity is free
        #expect(try row(held).state == "pending")
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.pending' AND payload->>'code' = 'budget'") == 1)

        try EventRecorder.record(
            [budget("budget.restored", tenant: "acme", policy: "stop", version: 3), budget("budget.restored", tenant: "globex", policy: "downgrade", version: 4)],
            topology: env.topology, pool: env.pool)
        #expect(try eventually { try row(held).state == "scheduled" })
        #expect(try eventually { try !row(running).overBudget })
        #expect(try env.count("SELECT count(*) FROM sched_budget_holds WHERE held") == 0)

        // An older budget.exceeded delivered late changes nothing.
        try EventRecorder.record([budget("budget.exceeded", tenant: "globex", policy: "downgrade", version: 2)], topology: env.topology, pool: env.pool)
        let late = UUID()
        try EventRecorder.record([budget("budget.exceeded", tenant: "acme", policy: "stop", version: 1), admitted(late, tenant: "acme")], topology: env.topology, pool: env.pool)
        #expect(try eventually { try row(late).state == "scheduled" })
        #expect(try !row(running).overBudget)
        #expect(try env.count("SELECT count(*) FROM sched_budget_holds WHERE held") == 0)
    }
}
