import Admission
import AgentCore
import AgentTestSupport
import Foundation
import Logging
import NodeAgent
import Postgres
import PreemptionWorker
import SchedulerWorker
import Testing

/// A critical job preempts a running batch job: the batch job checkpoints on SIGTERM, is
/// requeued, and later resumes from that checkpoint to the same final result as a run that was
/// never interrupted.
@Suite("Preemption: a batch job makes room for a critical one and resumes")
struct PreemptionRunTests {
    @Test("Preempted by a critical job: SIGTERM checkpoint, requeued, resumes from it with the uninterrupted result; the event names the preemptor")
    func batchJobIsPreemptedAndResumes() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try GridworldJobs.register(world)
        try world.registry.registerVersion(
            tenant: "acme", agent: "urgent", version: "1.0", image: nil, command: "sleep 1", framework: .custom,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 12, memoryGiB: 8), checkpoints: false)
        // One node: the two jobs cannot run at once.
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }
        let decider = PreemptionDecider(
            settings: PreemptionSettings(interval: .milliseconds(300)), topology: env.topology, logger: Logger(label: "preemption"))
        let preemption = BackgroundLoop { decider.task(pool: env.pool).run($0) }
        defer { _ = preemption.stopAndJoin() }

        try GridworldJobs.submit(world, key: "batch-1", fields: ["priority_class": "batch"], priority: .batch)
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM checkpoints WHERE step = 4000") == 1 })
        let batchID = try env.pool.withConnection { try $0.query("SELECT job_id FROM runs")[0].decode(0, as: UUID.self) }
        let critical = AdmissionWorld.body([
            "tenant": "acme", "agent": "urgent@1.0", "max_runtime": "10m", "idempotency_key": "critical-1", "priority_class": "critical",
        ])
        try world.client().publish([SubmissionClient.Request(body: critical, idempotencyKey: "critical-1", priority: .critical)], withReplies: false)

        let job = batchID.uuidString.lowercased()
        #expect(try eventually(timeout: .seconds(90)) {
            try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND subjects->>'job' = $1 AND payload->>'outcome' = 'succeeded'", [job]) == 1
        })
        let events = try env.pool.withConnection {
            try $0.query("SELECT type, payload::text FROM events WHERE subjects->>'job' = $1 ORDER BY seq", [job])
                .map { (try $0.decode(0, as: String.self), try JSONValue.parse(Data(try $0.decode(1, as: String.self).utf8))) }
        }
        let request = try #require(events.first { $0.0 == "job.preemption_requested" }?.1)
        #expect(request["reason"] == "lower_priority")
        #expect(request["preemptor_class"] == "critical")
        let criticalID = try env.pool.withConnection {
            try $0.query("SELECT id FROM jobs WHERE idempotency_key = 'critical-1'")[0].decode(0, as: UUID.self)
        }
        #expect(request["preemptor_job_id"] == .string(criticalID.uuidString.lowercased()))
        #expect(events.contains { $0.0 == "job.finished" && $0.1["outcome"] == "preempted" })
        #expect(events.contains { $0.0 == "job.requeued" && $0.1["reason"] == "preempted" })
        // The critical job ran while the batch job waited.
        #expect(try env.count(
            "SELECT count(*) FROM events WHERE type = 'job.finished' AND subjects->>'job' = $1 AND payload->>'outcome' = 'succeeded'",
            [criticalID.uuidString.lowercased()]) == 1)

        let runs = try env.pool.withConnection { try RunQueries.runs(of: batchID, in: $0) }
        #expect(runs.map(\.attempt) == [0, 1])
        #expect(runs.map(\.state) == ["preempted", "succeeded"])
        // Work lost: none beyond the SIGTERM checkpoint (at most one interval in any case).
        let stoppedAt = runs[0].lastStep ?? 0
        let resumedFrom = runs[1].resumedFrom.flatMap { Int64($0.split(separator: "-").last?.split(separator: ".").first ?? "") } ?? 0
        #expect(stoppedAt - resumedFrom <= 2000, "stopped at \(stoppedAt), resumed from \(resumedFrom)")
        let finished = try #require(events.last { $0.0 == "job.finished" }?.1)
        let uninterrupted = try GridworldJobs.uninterruptedResult()
        #expect(finished["metrics"]?["q_checksum"] == uninterrupted["q_checksum"])
        #expect(try env.count("SELECT count(*) FROM preemptions WHERE victim_job_id = $1 AND preemptor_job_id = $2", [batchID, criticalID]) == 1)
    }
}
