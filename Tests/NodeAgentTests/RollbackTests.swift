import Admission
import AgentCore
import AgentTestSupport
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

/// `agentctl jobs rollback`: a running job restarts from an earlier checkpoint, as a new attempt.
@Suite("Node agent: rolling a job back to a checkpoint")
struct RollbackTests {
    @Test("Rolled back to step 2000 mid-run: the run stops, a new attempt resumes from 2000, later checkpoints are discarded, the result equals an uninterrupted run's")
    func rollsBackToACheckpoint() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try GridworldJobs.register(world, cpu: 4)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }

        try GridworldJobs.submit(world, key: "rb-1")
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM checkpoints WHERE step = 4000") == 1 })
        let jobID = try env.pool.withConnection { try $0.query("SELECT job_id FROM runs")[0].decode(0, as: UUID.self) }

        // A step the job never checkpointed is refused, naming the ones it has; nothing changes.
        do {
            _ = try env.pool.transaction {
                try JobRollback.request(jobID: jobID, to: "3000", reason: nil, actor: "tests", topology: env.topology, in: $0)
            }
            Issue.record("a rollback to a step without a checkpoint was accepted")
        } catch {
            #expect("\(error)".contains("--to 3000: the job has no such checkpoint"))
            #expect("\(error)".contains("2000, 4000"))
        }
        let request = try env.pool.transaction {
            try JobRollback.request(jobID: jobID, to: "2000", reason: "bad data after 2000", actor: "tests", topology: env.topology, in: $0)
        }
        #expect(request.step == 2000)

        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND subjects->>'job' = $1", [jobID.uuidString.lowercased()]) == 1
        })
        let runs = try env.pool.withConnection { try RunQueries.runs(of: jobID, in: $0) }
        #expect(runs.map(\.attempt) == [0, 1])
        #expect(runs.map(\.state) == ["stopped", "succeeded"])
        #expect(runs[1].resumedFrom == URL(string: request.uri)!.path)
        let checkpoints = try env.pool.withConnection { try RunQueries.checkpoints(of: jobID, in: $0) }
        let first = checkpoints.filter { $0.runID == runs[0].runID }
        #expect(first.filter { !$0.discarded }.map(\.step) == [2000], "the first attempt keeps only what was rolled back to")
        #expect(first.filter(\.discarded).map(\.step).contains(4000))
        #expect(checkpoints.filter { $0.runID == runs[1].runID }.map(\.step) == [4000, 6000, 8000, 10000])

        // Events: the request, the old run's end as rolled_back (not the job's), one job.finished.
        let events = try env.pool.withConnection {
            try $0.query("SELECT type, payload::text FROM events WHERE subjects->>'job' = $1 ORDER BY seq", [jobID.uuidString.lowercased()])
                .map { (try $0.decode(0, as: String.self), try JSONValue.parse(Data(try $0.decode(1, as: String.self).utf8))) }
        }
        #expect(events.contains { $0.0 == "job.rollback_requested" && $0.1["reason"] == "bad data after 2000" })
        #expect(events.contains { $0.0 == "job.rolled_back" && $0.1["attempt"] == .number(1) })
        #expect(events.contains { $0.0 == "run.finished" && $0.1["outcome"] == "rolled_back" && $0.1["rank"] == .number(0) })
        let finished = try #require(events.last { $0.0 == "job.finished" }?.1)
        #expect(finished["outcome"] == "succeeded")
        #expect(finished["attempt"] == .number(1))

        // Exact resume: the same result as a run that was never interrupted.
        let uninterrupted = try GridworldJobs.uninterruptedResult()
        #expect(finished["metrics"]?["q_checksum"] == uninterrupted["q_checksum"])
        #expect(finished["metrics"]?["greedy_return"] == uninterrupted["greedy_return"])

        // A job that has ended cannot be rolled back: it says why.
        do {
            _ = try env.pool.transaction {
                try JobRollback.request(jobID: jobID, to: "2000", reason: nil, actor: "tests", topology: env.topology, in: $0)
            }
            Issue.record("a finished job was rolled back")
        } catch {
            #expect("\(error)".contains("is not running"))
        }
    }
}
