import Admission
import AgentCore
import AgentTestSupport
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

/// A node that stops beating is lost; its job is requeued and resumes from its newest checkpoint
/// on another node, with the same final result as a run that was never interrupted.
@Suite("Health: a lost node's job resumes elsewhere")
struct NodeLossTests {
    @Test("A node agent SIGKILLed mid-job: node.lost after the detection timeout, the job resumes from its checkpoint on the other node")
    func killedNodeAgent() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let (nodes, pipeline, health) = try twoBeatingNodes(world)
        defer {
            _ = health.stopAndJoin()
            pipeline.stop()
        }

        try GridworldJobs.submit(world, key: "lost-1", fields: ["retry": ["backoff": "1s"]])
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM checkpoints WHERE step = 4000") == 1 })
        let first = try #require(try env.pool.withConnection { try $0.query("SELECT job_id, node_id FROM runs").first })
        let jobID = try first.decode(0, as: UUID.self)
        let lostNode = try first.decode(1, as: String.self)
        let agent = pipeline.agents[nodes.firstIndex(of: lostNode)!]
        agent.kill()  // SIGKILL: no goodbye, no more heartbeats

        #expect(try eventually(timeout: .seconds(30)) {
            try env.count("SELECT count(*) FROM events WHERE type = 'node.lost' AND payload->>'node' = $1", [lostNode]) == 1
        })
        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND subjects->>'job' = $1", [jobID.uuidString.lowercased()]) == 1
        })
        let runs = try env.pool.withConnection { try RunQueries.runs(of: jobID, in: $0) }
        let resumed = try #require(runs.last)
        #expect(resumed.attempt == 1)
        #expect(resumed.node != lostNode)
        #expect(resumed.state == "succeeded")
        // It resumed from a checkpoint the first attempt wrote (4,000 or later): at most one interval lost.
        let resumedStep = resumed.resumedFrom.flatMap { path in Int(path.split(separator: "-").last?.split(separator: ".").first ?? "") }
        #expect((resumedStep ?? 0) >= 4000, "resumed from \(resumed.resumedFrom ?? "nothing")")

        let events = try env.pool.withConnection {
            try $0.query("SELECT type, payload::text FROM events WHERE subjects->>'job' = $1 ORDER BY seq", [jobID.uuidString.lowercased()])
                .map { (try $0.decode(0, as: String.self), try JSONValue.parse(Data(try $0.decode(1, as: String.self).utf8))) }
        }
        let requeued = try #require(events.first { $0.0 == "job.requeued" }?.1)
        #expect(requeued["reason"] == "node_lost")
        #expect(requeued["attempt"] == .number(1))
        let finished = try #require(events.last { $0.0 == "job.finished" }?.1)
        #expect(finished["outcome"] == "succeeded")
        let uninterrupted = try GridworldJobs.uninterruptedResult()
        #expect(finished["metrics"]?["q_checksum"] == uninterrupted["q_checksum"])
        #expect(try env.count("SELECT count(*) FROM nodes WHERE id = $1 AND state = 'lost'", [lostNode]) == 1)
        #expect(try env.count("SELECT count(*) FROM job_attempts WHERE job_id = $1 AND outcome = 'node_lost' AND retried", [jobID]) == 1)
    }

    @Test("A node frozen and then back: its job moved on meanwhile; on return the old run is stopped, its reports do not count, the node is ready again")
    func nodeThatComesBack() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let (nodes, pipeline, health) = try twoBeatingNodes(world)
        defer {
            _ = health.stopAndJoin()
            pipeline.stop()
        }
        try GridworldJobs.submit(world, key: "frozen-1", fields: ["retry": ["backoff": "0s"]])
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM checkpoints WHERE step = 2000") == 1 })
        let first = try #require(try env.pool.withConnection { try $0.query("SELECT job_id, node_id, pid, run_id FROM runs").first })
        let jobID = try first.decode(0, as: UUID.self)
        let frozenNode = try first.decode(1, as: String.self)
        let runGroup = pid_t(try first.decode(2, as: Int.self))
        let oldRun = try first.decode(3, as: UUID.self)
        let agent = pipeline.agents[nodes.firstIndex(of: frozenNode)!].process.processIdentifier
        // The whole node pauses (as a suspended VM would): its agent and what it runs.
        Foundation.kill(agent, SIGSTOP)
        Foundation.kill(-runGroup, SIGSTOP)
        defer {
            Foundation.kill(-runGroup, SIGCONT)
            Foundation.kill(agent, SIGCONT)
        }

        // Meanwhile: lost, requeued, running again on the other node.
        #expect(try eventually(timeout: .seconds(30)) {
            try env.count("SELECT count(*) FROM runs WHERE job_id = $1 AND attempt = 1 AND state = 'running'", [jobID]) == 1
        })
        let requeuedAt = Date()
        Foundation.kill(-runGroup, SIGCONT)
        Foundation.kill(agent, SIGCONT)

        // Back: the old run is stopped at once, nothing it says counts, only the new attempt ends the job.
        #expect(try eventually(timeout: .seconds(20)) {
            try env.count("SELECT count(*) FROM runs WHERE run_id = $1 AND state = 'stopped'", [oldRun]) == 1
        })
        let stoppedAfter = try env.pool.withConnection {
            try $0.query("SELECT extract(epoch FROM finished_at)::float8 FROM runs WHERE run_id = $1", [oldRun])[0].decode(0, as: Double.self)
        } - requeuedAt.timeIntervalSince1970
        #expect(stoppedAfter < 12, "the old run was stopped \(stoppedAfter) s after the node came back")
        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND subjects->>'job' = $1", [jobID.uuidString.lowercased()]) == 1
        })
        let finished = try env.pool.withConnection {
            try JSONValue.parse(Data(try $0.query(
                "SELECT payload::text FROM events WHERE type = 'job.finished' AND subjects->>'job' = $1", [jobID.uuidString.lowercased()]
            )[0].decode(0, as: String.self).utf8))
        }
        #expect(finished["attempt"] == .number(1))
        #expect(finished["outcome"] == "succeeded")
        // What the old run checkpointed after the job moved on is kept for the record, never resumed from.
        #expect(try env.count(
            "SELECT count(*) FROM checkpoints WHERE run_id = $1 AND NOT discarded AND recorded_at > $2", [oldRun, requeuedAt]) == 0)
        #expect(try eventually(timeout: .seconds(20)) {
            try env.count("SELECT count(*) FROM nodes WHERE id = $1 AND state = 'ready'", [frozenNode]) == 1
        })
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'node.recovered' AND payload->>'node' = $1", [frozenNode]) == 1)
    }

    /// Two nodes with room for the job on either, not on both at once; their agents beat every
    /// 0.5 s and a health checker in this process calls a node lost after 2 s of silence.
    private func twoBeatingNodes(_ world: AdmissionWorld) throws -> ([String], RunLifecycleTests.Pipeline, BackgroundLoop) {
        try GridworldJobs.register(world)
        let nodes = try NodeRegistry(pool: world.env.pool, topology: world.env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 2, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try RunLifecycleTests.Pipeline(
            world: world, nodes: nodes, agentEnvironment: [nodes[0]: GridworldJobs.fastBeat, nodes[1]: GridworldJobs.fastBeat])
        return (nodes, pipeline, GridworldJobs.healthChecker(world.env))
    }
}
