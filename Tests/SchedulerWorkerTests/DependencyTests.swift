import AMQP
import AgentCore
import AgentRuntime
import AgentTestSupport
import Foundation
import Logging
import Postgres
import SchedulerWorker
import Testing

@Suite("Job dependencies at run time")
struct DependencyTests {
    @Test("A job waits for its dependency, runs once it succeeded, and ends without running when one failed")
    func dependencies() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        try SchedulerUnderTest.seedCPU(env, tenants: ["acme"])
        try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "c", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 64, memoryGiB: 256))
        let scheduler = try SchedulerUnderTest(env)
        defer { scheduler.stop() }

        func admitted(_ id: UUID, dependsOn: [UUID] = []) -> EventEnvelope {
            EventEnvelope(
                type: "job.admitted", producer: "tests", tenant: "acme",
                payload: [
                    "job_id": .string(id.uuidString.lowercased()), "priority_class": "normal", "replicas": 1,
                    "resources": ["flavor": "cpu", "gpus": 0, "cpu": 4, "memory_gib": 8], "max_runtime_seconds": 3_600,
                    "submitted_at": .string(ISO8601.string(from: Date())), "depends_on": .array(dependsOn.map { .string($0.uuidString.lowercased()) }),
                ])
        }
        func finished(_ id: UUID, _ outcome: String) -> EventEnvelope {
            EventEnvelope(
                type: "job.finished", producer: "tests", tenant: "acme",
                payload: ["job_id": .string(id.uuidString.lowercased()), "outcome": .string(outcome)])
        }
        func state(_ id: UUID) throws -> String? {
            try env.pool.withConnection { try $0.query("SELECT state FROM sched_jobs WHERE job_id = $1", [id]).first?.decode(0, as: String.self) }
        }

        let first = UUID(), second = UUID(), doomed = UUID(), blocker = UUID()
        try EventRecorder.record([admitted(first), admitted(second, dependsOn: [first]), admitted(blocker), admitted(doomed, dependsOn: [blocker])],
                                 topology: env.topology, pool: env.pool)
        #expect(try eventually { try state(first) == "scheduled" && state(blocker) == "scheduled" })
        #expect(try eventually {
            try env.count("SELECT count(*) FROM sched_jobs WHERE job_id = $1 AND reason_code = 'dependencies'", [second]) == 1
        })
        #expect(try state(second) == "pending", "capacity is free, yet it waits for its dependency")
        let status = try #require(try env.pool.withConnection { try JobPlacementQueries.status(of: second, in: $0) })
        #expect(status.reason?.contains(first.uuidString.lowercased()) == true, "\(status.reason ?? "")")
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.pending' AND payload->>'code' = 'dependencies'") == 2)

        try EventRecorder.record([finished(first, "succeeded"), finished(blocker, "failed")], topology: env.topology, pool: env.pool)
        #expect(try eventually { try state(second) == "scheduled" })
        #expect(try eventually { try state(doomed) == "finished" })
        #expect(try env.count("SELECT count(*) FROM sched_jobs WHERE job_id = $1 AND outcome = 'dependency_failed'", [doomed]) == 1)
        #expect(try env.count("SELECT count(*) FROM allocations WHERE job_id = $1", [doomed]) == 0)
        #expect(try eventually {
            try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND producer = 'scheduler' AND subjects->>'job' = $1",
                          [doomed.uuidString.lowercased()]) == 1
        })
    }
}
