import AMQP
import Admission
import AgentCore
import AgentRuntime
import AgentTestSupport
import Foundation
import Logging
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

/// Real node-agent processes running real programs, fed by an in-process admission and scheduler.
@Suite("Node agent: placements become processes, progress and checkpoints are recorded")
struct RunLifecycleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Admission, the scheduler's consumer and decision loop, and a relay, in this process.
    final class Pipeline {
        let world: AdmissionWorld
        var loops: [BackgroundLoop] = []
        var agents: [WorkerProcess] = []

        /// `agentEnvironment`: extra variables for a node's agent (its capacity, say).
        init(world: AdmissionWorld, nodes: [String], agentEnvironment: [String: [String: String]] = [:]) throws {
            self.world = world
            let env = world.env
            let declaring = try AMQPConnection(url: env.amqpURL)
            for queue in SchedulerHandler.inputQueues(env.topology) {
                env.track(queue: queue.name)
                try env.topology.declare(queue, on: declaring)
            }
            for node in nodes {
                let queue = PlacementHandler.inputQueue(env.topology, nodeID: node)
                env.track(queue: queue.name)
                env.track(queue: env.topology.deadLetterQueueName(queue.name))
                try env.topology.declare(queue, on: declaring)
            }
            declaring.close()
            let logger = Logger(label: "tests")
            loops.append(world.startAdmission())
            let consumers = SchedulerHandler.inputQueues(env.topology).map { queue in
                ConsumerLoop(
                    settings: .init(consumerName: SchedulerHandler.workerName, queue: queue),
                    handler: SchedulerHandler(), amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: logger)
            }
            let deciding = SchedulingLoop(
                settings: .init(identity: "test-scheduler", refresh: .seconds(1)), databaseURL: env.databaseURL, pool: env.pool,
                topology: env.topology, logger: logger)
            for consumer in consumers { loops.append(BackgroundLoop { consumer.run(until: $0) }) }
            loops.append(BackgroundLoop { deciding.run(until: $0) })
            let workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("node-agent-\(UUID())").path
            for node in nodes {
                agents.append(
                    try WorkerProcess(
                        executable: "node-agent",
                        environment: env.processEnvironment([
                            "AGENTMGR_NODE_ID": node, "AGENTMGR_NODE_WORKDIR": "\(workDirectory)/\(node)",
                            "AGENTMGR_NODE_PEER_ADDRESS": "127.0.0.1",
                        ].merging(agentEnvironment[node] ?? [:]) { $1 })))
            }
        }

        private var stopped = false

        /// Stops the agents, then the loops; once (a test may stop early, its defer stops again).
        func stop() {
            guard !stopped else { return }
            stopped = true
            for agent in agents { _ = agent.terminate() }
            for loop in loops.reversed() { _ = loop.stopAndJoin() }
        }
    }

    @Test("The example agent runs to completion on a node: started, checkpoints and logs recorded, result reported, capacity freed")
    func runsTheExampleAgent() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let train = Self.repository.appendingPathComponent("examples/agents/gridworld/train.py").path
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        try world.registry.registerVersion(
            tenant: "acme", agent: "gridworld", version: "1.0", image: nil,
            command: "python3 \(train) --steps 6000 --checkpoint-every 2000 --report-every 500", framework: .custom,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 4, memoryGiB: 8), checkpoints: true)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }

        let body = AdmissionWorld.body(["tenant": "acme", "agent": "gridworld@1.0", "max_runtime": "10m", "idempotency_key": "gw-1"])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: "gw-1", priority: .normal)], withReplies: false)

        #expect(try eventually(timeout: .seconds(90)) {
            try env.count("SELECT count(*) FROM runs WHERE state IN ('succeeded', 'failed', 'timed_out', 'lost')") == 1
        })
        let run = try #require(
            try env.pool.withConnection {
                try $0.query("SELECT run_id, job_id, state, exit_code, log_path, rank, world_size, node_id FROM runs").first
            })
        #expect(try run.decode(2, as: String.self) == "succeeded")
        #expect(try run.decode(3, as: Int.self) == 0)
        #expect(try run.decode(5, as: Int.self) == 0)
        #expect(try run.decode(6, as: Int.self) == 1)
        #expect(try run.decode(7, as: String.self) == nodes[0])
        let jobID = try run.decode(1, as: UUID.self)
        #expect(try env.count("SELECT count(*) FROM jobs WHERE id = $1 AND idempotency_key = 'gw-1'", [jobID]) == 1)
        // agentctl finds jobs by idempotency key (jobs show, runs, checkpoints, logs).
        #expect(try env.pool.withConnection { try JobQueries.find("gw-1", in: $0)?.jobID } == jobID.uuidString.lowercased())
        #expect(try env.pool.withConnection { try RunQueries.checkpoints(of: jobID, in: $0).map(\.step) } == [2000, 4000, 6000])

        // Checkpoints every 2,000 steps, each a file the program wrote.
        let checkpoints = try env.pool.withConnection {
            try $0.query("SELECT step, uri FROM checkpoints WHERE job_id = $1 ORDER BY step", [jobID]).map {
                (try $0.decode(0, as: Int.self), try $0.decode(1, as: String.self))
            }
        }
        #expect(checkpoints.map(\.0) == [2000, 4000, 6000])
        for (_, uri) in checkpoints { #expect(FileManager.default.fileExists(atPath: URL(string: uri)!.path)) }
        // The log holds the program's output, protocol lines included.
        let log = try String(contentsOfFile: try run.decode(4, as: String.self), encoding: .utf8)
        #expect(log.contains(#"@agentmgr {"kind":"result""#))

        // Events of record, in order, and the scheduler freed the capacity on job.finished.
        let events = try env.pool.withConnection {
            try $0.query("SELECT type, payload::text FROM events WHERE subjects->>'job' = $1 ORDER BY seq", [jobID.uuidString.lowercased()])
                .map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)) }
        }
        let types = events.map(\.0)
        #expect(types.first == "job.admitted")
        #expect(types.contains("job.scheduled"))
        #expect(types.filter { $0 == "job.checkpointed" }.count == 3)
        #expect(types.last == "job.finished")
        let finished = try JSONValue.parse(Data(events.last!.1.utf8))
        #expect(finished["outcome"] == .string("succeeded"))
        #expect(finished["metrics"]?["greedy_return"] != nil)
        #expect(try eventually {
            try env.count("SELECT count(*) FROM sched_jobs WHERE job_id = $1 AND state = 'finished'", [jobID]) == 1
        })
        #expect(try env.count("SELECT count(*) FROM allocations WHERE job_id = $1 AND released_at IS NULL", [jobID]) == 0)
    }

    @Test("A gang of 2 replicas on 2 nodes: consistent RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT")
    func gangEnvironment() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        // Each replica writes what it was given next to its checkpoints, then reports a result.
        // Rank 0 lingers, as ranks that rendezvous do: when it ends, the job ends and the others stop.
        let command = #"env | grep -E '^(RANK|WORLD_SIZE|MASTER_ADDR|MASTER_PORT|JOB_ID)=' | sort > "$CHECKPOINT_DIR/env-$RANK.txt"; echo "@agentmgr {\"kind\":\"result\",\"metrics\":{\"rank\":$RANK}}"; if [ "$RANK" = 0 ]; then sleep 3; fi"#
        try world.registry.registerVersion(
            tenant: "acme", agent: "printer", version: "1", image: nil, command: command, framework: .pytorch,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 16, memoryGiB: 32), checkpoints: false)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 2, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }

        let body = AdmissionWorld.body(["tenant": "acme", "agent": "printer@1", "replicas": 2, "max_runtime": "10m", "idempotency_key": "gang-1"])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: "gang-1", priority: .high)], withReplies: false)

        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM runs WHERE state = 'succeeded'") == 2 })
        let runs = try env.pool.withConnection {
            try $0.query("SELECT rank, node_id, checkpoint_dir FROM runs ORDER BY rank").map {
                (try $0.decode(0, as: Int.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self))
            }
        }
        #expect(runs.map(\.0) == [0, 1])
        #expect(Set(runs.map(\.1)) == Set(nodes), "one replica per node (16 cores each)")
        var seen: [[String: String]] = []
        for (rank, _, directory) in runs {
            let text = try String(contentsOfFile: "\(directory)/env-\(rank).txt", encoding: .utf8)
            seen.append(Dictionary(uniqueKeysWithValues: text.split(separator: "\n").map {
                let parts = $0.split(separator: "=", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            }))
        }
        try #require(seen.count == 2)
        #expect(seen.map { $0["RANK"] } == ["0", "1"])
        #expect(seen.allSatisfy { $0["WORLD_SIZE"] == "2" && $0["MASTER_ADDR"] == "127.0.0.1" })
        #expect(seen[0]["MASTER_PORT"] == seen[1]["MASTER_PORT"])
        #expect(seen[0]["JOB_ID"] == seen[1]["JOB_ID"])
        #expect(try eventually { try env.count("SELECT count(*) FROM events WHERE type = 'job.finished'") == 1 })
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'run.finished'") == 1)
    }

    @Test("A run over its max runtime is stopped: timed_out, job.finished, capacity freed")
    func maxRuntimeIsEnforced() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        try world.registry.registerVersion(
            // It gets SIGTERM first (not blocked, not ignored): it notes that, then exits.
            tenant: "acme", agent: "sleeper", version: "1", image: nil,
            command: #"trap 'echo graceful > "$CHECKPOINT_DIR/stopped"; exit 0' TERM; echo started; sleep 600 & wait"#, framework: .custom,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 2, memoryGiB: 2), checkpoints: false)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 1, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }

        // 60 s is the shortest max runtime a job spec accepts.
        let body = AdmissionWorld.body(["tenant": "acme", "agent": "sleeper@1", "max_runtime": "60s", "idempotency_key": "sleepy"])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: "sleepy", priority: .normal)], withReplies: false)
        #expect(try eventually(timeout: .seconds(30)) { try env.count("SELECT count(*) FROM runs WHERE state = 'running'") == 1 })
        let started = Date()
        #expect(try eventually(timeout: .seconds(100)) { try env.count("SELECT count(*) FROM runs WHERE state = 'timed_out'") == 1 })
        #expect(Date().timeIntervalSince(started) > 50, "stopped at its max runtime, not before")
        #expect(try eventually { try env.count("SELECT count(*) FROM events WHERE type = 'job.finished' AND payload->>'outcome' = 'timed_out'") == 1 })
        #expect(try eventually { try env.count("SELECT count(*) FROM sched_jobs WHERE state = 'finished'") == 1 })
        let directory = try env.pool.withConnection { try $0.query("SELECT checkpoint_dir FROM runs")[0].decode(0, as: String.self) }
        #expect(FileManager.default.fileExists(atPath: "\(directory)/stopped"), "SIGTERM reached the program before any SIGKILL")
    }

    @Test("When rank 0 of a gang ends, the other ranks are stopped on their nodes (their capacity is being freed)")
    func gangStopsWithRankZero() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        try world.registry.registerVersion(
            tenant: "acme", agent: "uneven", version: "1", image: nil,
            command: #"if [ "$RANK" = 0 ]; then sleep 2; echo done; else sleep 600; fi"#, framework: .pytorch,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 16, memoryGiB: 32), checkpoints: false)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "sim", flavor: "cpu", count: 2, shape: .init(gpus: 0, cpu: 16, memoryGiB: 64))
        let pipeline = try Pipeline(world: world, nodes: nodes)
        defer { pipeline.stop() }

        let body = AdmissionWorld.body(["tenant": "acme", "agent": "uneven@1", "replicas": 2, "max_runtime": "10m", "idempotency_key": "uneven"])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: "uneven", priority: .normal)], withReplies: false)

        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM runs WHERE rank = 0 AND state = 'succeeded'") == 1
                && env.count("SELECT count(*) FROM runs WHERE rank = 1 AND state = 'stopped'") == 1
        })
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'run.finished' AND payload->>'outcome' = 'stopped_with_job'") == 1)
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.finished'") == 1)
    }
}
