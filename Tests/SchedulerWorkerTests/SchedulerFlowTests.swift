import AMQP
import Admission
import AgentCore
import AgentRuntime
import AgentTestSupport
import Foundation
import Logging
import Postgres
import SchedulerWorker
import Testing

@Suite("Scheduler flow: admitted → placed or waiting with a reason → capacity freed → placed")
struct SchedulerFlowTests {
    @Test("A job waits with a readable reason while a gang holds the nodes, and is placed once the gang finishes")
    func waitThenPlace() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let nodes = NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
        try nodes.add(pool: "v100m32", flavor: "gpu-v100m32", count: 2, shape: .init(gpus: 8, cpu: 96, memoryGiB: 384))
        let scheduler = try SchedulerUnderTest(env)
        defer { scheduler.stop() }
        let metrics = scheduler.metrics

        func admitted(_ id: UUID, replicas: Int, priority: String) -> EventEnvelope {
            EventEnvelope(
                type: "job.admitted", producer: "tests", tenant: "acme",
                payload: [
                    "job_id": .string(id.uuidString.lowercased()), "priority_class": .string(priority), "replicas": .number(Double(replicas)),
                    "resources": ["flavor": "gpu-v100m32", "gpus": 8, "cpu": 64, "memory_gib": 320],
                    "max_runtime_seconds": 3_600, "submitted_at": .string(ISO8601.string(from: Date())),
                ])
        }
        let gang = UUID()
        let waiter = UUID()
        try EventRecorder.record([admitted(gang, replicas: 2, priority: "high")], topology: env.topology, pool: env.pool)
        #expect(try eventually { try env.count("SELECT count(*) FROM sched_jobs WHERE state = 'scheduled'") == 1 })
        try EventRecorder.record([admitted(waiter, replicas: 1, priority: "normal")], topology: env.topology, pool: env.pool)
        #expect(try eventually {
            try env.count("SELECT count(*) FROM sched_jobs WHERE job_id = $1 AND reason_code IS NOT NULL", [waiter]) == 1
        })

        let status = try #require(try env.pool.withConnection { try JobPlacementQueries.status(of: waiter, in: $0) })
        #expect(status.state == "pending")
        #expect(status.reasonCode == "capacity")
        #expect(status.queuePosition == 1)
        #expect(status.reason?.contains("gpu-v100m32") == true, "\(status.reason ?? "")")
        let gangStatus = try #require(try env.pool.withConnection { try JobPlacementQueries.status(of: gang, in: $0) })
        #expect(gangStatus.nodes.sorted() == ["v100m32-0001", "v100m32-0002"], "both replicas placed at once")
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.pending' AND subjects->>'job' = $1", [waiter.uuidString.lowercased()]) == 1)

        // The gang finishes: its capacity is freed and the waiting job is placed.
        try EventRecorder.record(
            [EventEnvelope(type: "job.finished", producer: "tests", tenant: "acme", payload: ["job_id": .string(gang.uuidString.lowercased())])],
            topology: env.topology, pool: env.pool)
        #expect(try eventually { try env.count("SELECT count(*) FROM sched_jobs WHERE job_id = $1 AND state = 'scheduled'", [waiter]) == 1 })
        #expect(try env.count("SELECT count(*) FROM allocations WHERE job_id = $1 AND released_at IS NOT NULL", [gang]) == 2)
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.scheduled'") == 2)

        // What /metrics shows for the decision loop.
        let text = metrics.prometheusText(worker: "scheduler")
        #expect(metrics.placements.current == 2)
        #expect(text.contains("agentmgr_scheduler_placements_total{worker=\"scheduler\"} 2"))
        #expect(text.contains("agentmgr_scheduler_leader{worker=\"scheduler\"} 1"))
        #expect(text.contains("agentmgr_scheduler_pending_jobs{worker=\"scheduler\"} 0"))
        #expect(text.contains("# TYPE agentmgr_scheduler_round_seconds histogram"))
        #expect(metrics.rounds.current >= 3)
    }

    @Test("A cordoned node takes no new job")
    func cordonedNode() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let nodes = NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
        let ids = try nodes.add(pool: "t4", flavor: "gpu-t4", count: 2, shape: .init(gpus: 2, cpu: 96, memoryGiB: 512))
        try nodes.setState(node: ids[0], "cordoned")
        #expect(throws: NodeRegistryError.self) { try nodes.setState(node: "nope", "cordoned") }
        #expect(throws: NodeRegistryError.self) { try nodes.setState(node: ids[1], "lost") }
        let loop = SchedulingLoop(
            settings: .init(identity: "test"), databaseURL: env.databaseURL, pool: env.pool, topology: env.topology,
            logger: Logger(label: "scheduler"))
        let job = UUID()
        try env.pool.withConnection { db in
            try db.query(
                """
                INSERT INTO sched_jobs (job_id, tenant, priority_class, flavor, gpus, cpu, memory_gib, replicas, submitted_at, max_runtime_seconds)
                VALUES ($1, 'bigco', 'normal', 'gpu-t4', 2, 8, 16, 2, now(), 3600)
                """, [job])
            try db.query("UPDATE scheduler_leader SET epoch = 41")
        }
        // One round as leader of epoch 41: one ready node cannot hold a gang of two 2-GPU replicas.
        #expect(try loop.roundForTesting(epoch: 41))
        let status = try #require(try env.pool.withConnection { try JobPlacementQueries.status(of: job, in: $0) })
        #expect(status.state == "pending")
        #expect(status.reasonCode == "capacity")
        // A stale epoch decides nothing, and leaves the releases it read for the leader.
        try nodes.setState(node: ids[0], "ready")
        try env.pool.withConnection { try $0.query("INSERT INTO sched_released (job_id) VALUES ($1)", [UUID()]) }
        #expect(try loop.roundForTesting(epoch: 40) == false)
        #expect(try env.count("SELECT count(*) FROM allocations") == 0)
        #expect(try env.count("SELECT count(*) FROM sched_released") == 1)
        #expect(try loop.roundForTesting(epoch: 41))
        #expect(try env.count("SELECT count(*) FROM allocations WHERE job_id = $1", [job]) == 2)
        #expect(try env.count("SELECT count(*) FROM sched_released") == 0)
    }
}
