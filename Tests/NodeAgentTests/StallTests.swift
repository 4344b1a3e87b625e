import Admission
import AgentCore
import AgentTestSupport
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

/// A run that stops reporting progress is stalled: the job is restarted as its next attempt,
/// until its retry policy runs out; then it fails for good with the history of its attempts.
@Suite("Health: stalled runs are restarted, then the job fails with its attempt history")
struct StallTests {
    @Test("A silent program past its own stall timeout: job.stalled, restarted once (max_attempts 2), then job.failed listing both attempts")
    func stalledJobIsRetriedThenFails() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        // Reports one step, then hangs.
        try world.registry.registerVersion(
            tenant: "acme", agent: "hang", version: "1", image: nil,
            command: #"echo '@agentmgr {"kind":"progress","step":1,"metrics":{}}'; sleep 600"#, framework: .custom,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 2, memoryGiB: 2), checkpoints: false)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: nodes, agentEnvironment: [nodes[0]: GridworldJobs.fastBeat])
        defer { pipeline.stop() }
        // The checker's default stall timeout is 600 s: the job's own 5 s is the one that applies.
        let health = GridworldJobs.healthChecker(env)
        defer { _ = health.stopAndJoin() }

        let body = AdmissionWorld.body([
            "tenant": "acme", "agent": "hang@1", "max_runtime": "10m", "idempotency_key": "hang-1",
            "retry": ["max_attempts": 2, "backoff": "0s", "retry_on": ["stalled"], "stall_timeout": "5s"],
        ])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: "hang-1", priority: .normal)], withReplies: false)
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM events WHERE type = 'job.failed'") == 1 })
        let jobID = try env.pool.withConnection { try $0.query("SELECT job_id FROM runs LIMIT 1")[0].decode(0, as: UUID.self) }
        let job = jobID.uuidString.lowercased()
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.stalled' AND subjects->>'job' = $1", [job]) == 2)
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'alert.raised' AND payload->>'kind' = 'run_stalled'") == 2)
        let failed = try env.pool.withConnection {
            try JSONValue.parse(Data(try $0.query("SELECT payload::text FROM events WHERE type = 'job.failed'")[0].decode(0, as: String.self).utf8))
        }
        #expect(failed["outcome"] == "stalled")
        #expect(failed["not_retried"] == "all 2 attempts used")
        guard case .array(let attempts)? = failed["attempts"] else {
            Issue.record("job.failed has no attempts")
            return
        }
        #expect(attempts.map { $0["attempt"] } == [.number(0), .number(1)])
        #expect(attempts.allSatisfy { $0["outcome"] == "stalled" })
        // Both runs were stopped on the node (the requeue reached it), none is left running.
        #expect(try eventually(timeout: .seconds(20)) {
            try env.count("SELECT count(*) FROM runs WHERE job_id = $1 AND state IN ('starting', 'running')", [jobID]) == 0
        })
        #expect(try env.count("SELECT count(*) FROM sched_jobs WHERE job_id = $1 AND state = 'finished' AND outcome = 'stalled'", [jobID]) == 1)
        #expect(try env.count("SELECT count(*) FROM allocations WHERE job_id = $1 AND released_at IS NULL", [jobID]) == 0)
    }
}
