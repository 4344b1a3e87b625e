import AMQP
import Admission
import AgentCore
import AgentRuntime
import AgentTestSupport
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

@Suite("Curricula: stages in order, each from the previous stage's last checkpoint")
struct CurriculumTests {
    func setUp(_ world: AdmissionWorld) throws -> [String] {
        let train = RunLifecycleTests.repository.appendingPathComponent("examples/agents/gridworld/train.py").path
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        // No --steps on the command line: each stage's parameters say how far to train.
        try world.registry.registerVersion(
            tenant: "acme", agent: "gridworld", version: "2.0", image: nil,
            command: "python3 \(train) --checkpoint-every 1000 --report-every 500", framework: .custom,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 4, memoryGiB: 8), checkpoints: true)
        return try NodeRegistry(pool: world.env.pool, topology: world.env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
    }

    func submit(_ world: AdmissionWorld, key: String, curriculum: [[String: Any]]) throws {
        let body = AdmissionWorld.body([
            "tenant": "acme", "agent": "gridworld@2.0", "max_runtime": "10m", "idempotency_key": key, "curriculum": curriculum,
        ])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: key, priority: .normal)], withReplies: false)
    }

    @Test("A 2-stage curriculum: stage 2 runs with its own parameters from stage 1's last checkpoint, then the job finishes")
    func twoStages() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let nodes = try setUp(world)
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }
        try submit(world, key: "curriculum-1", curriculum: [
            ["name": "warmup", "parameters": ["steps": 3000, "lr": 0.2], "advance_when": ["metric": "success_rate", "at_least": 0]],
            ["name": "main", "parameters": ["steps": 6000, "lr": 0.05]],
        ])

        #expect(try eventually(timeout: .seconds(90)) { try env.count("SELECT count(*) FROM events WHERE type = 'job.finished'") == 1 })
        let runs = try env.pool.withConnection {
            try $0.query("SELECT stage, state, resumed_from, last_step FROM runs ORDER BY stage").map {
                (try $0.decode(0, as: Int.self), try $0.decode(1, as: String.self), try $0.decodeIfPresent(2, as: String.self),
                 try $0.decodeIfPresent(3, as: Int.self))
            }
        }
        #expect(runs.map(\.0) == [0, 1])
        #expect(runs.map(\.1) == ["succeeded", "succeeded"])
        #expect(runs[0].2 == nil)
        #expect(runs[1].2?.hasSuffix("/ckpt-3000.json") == true, "stage 2 resumed from \(runs[1].2 ?? "nothing")")
        let steps = try env.pool.withConnection { try $0.query("SELECT step FROM checkpoints ORDER BY step").map { try $0.decode(0, as: Int.self) } }
        #expect(steps == [1000, 2000, 3000, 4000, 5000, 6000])
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.stage_finished'") == 2)
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.stage_advanced' AND (payload->>'stage')::int = 1") == 1)
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND payload->>'outcome' = 'succeeded'") == 1)
        // Stage 2's own parameters reached the program (its learning rate is in its checkpoints).
        let last = try env.pool.withConnection { try $0.query("SELECT uri FROM checkpoints WHERE step = 6000")[0].decode(0, as: String.self) }
        let checkpoint = try JSONValue.parse(Data(contentsOf: URL(string: last)!))
        #expect(String(decoding: checkpoint.serialized(), as: UTF8.self).contains("0.05"))
    }

    @Test("A stage whose metric misses its threshold ends the job: no next stage, outcome threshold_not_met")
    func thresholdNotMet() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let nodes = try setUp(world)
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }
        try submit(world, key: "curriculum-2", curriculum: [
            ["name": "warmup", "parameters": ["steps": 2000], "advance_when": ["metric": "success_rate", "at_least": 2]],
            ["name": "never", "parameters": ["steps": 4000]],
        ])
        #expect(try eventually(timeout: .seconds(90)) { try env.count("SELECT count(*) FROM events WHERE type = 'job.finished'") == 1 })
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND payload->>'outcome' = 'threshold_not_met'") == 1)
        #expect(try env.count("SELECT count(*) FROM runs") == 1)
        #expect(try eventually { try env.count("SELECT count(*) FROM sched_jobs WHERE state = 'finished'") == 1 })
    }
}
