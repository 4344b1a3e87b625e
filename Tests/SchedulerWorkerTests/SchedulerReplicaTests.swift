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

@Suite("Scheduler replicas against the real services")
struct SchedulerReplicaTests {
    /// Job shapes of the mix: flavor, GPUs, cores, GiB per replica, replicas, same zone.
    static let shapes: [(String, Int, Int, Int, Int, Bool)] = [
        ("gpu-p100", 1, 8, 32, 1, false), ("gpu-p100", 2, 16, 64, 1, false), ("gpu-t4", 1, 8, 32, 1, false),
        ("gpu-v100", 4, 24, 96, 1, false), ("gpu-v100", 8, 48, 192, 2, true), ("gpu-v100m32", 8, 64, 320, 4, false),
        ("gpu-misc", 2, 16, 64, 1, false), ("cpu", 0, 16, 64, 1, false), ("gpu-t4", 2, 16, 64, 3, false),
    ]

    @Test("3 replicas, 5,000 jobs, the leader SIGKILLed midway: no node ever over capacity, every job that fits is placed")
    func threeReplicasWithFailover() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        for (tenant, weight) in [("alpha", 1), ("beta", 2), ("gamma", 3)] {
            try world.registry.createTenant(tenant, weight: Decimal(weight), cohort: "sim")
            for flavor in ["gpu-p100", "gpu-t4", "gpu-v100", "gpu-v100m32", "gpu-misc", "cpu"] {
                try world.registry.setQuota(tenant: tenant, flavor: flavor, nominal: 100_000)
            }
        }
        let catalog = try env.pool.withConnection { try Catalog.read(from: $0) }
        let nodes = NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
        for pool in catalog.pools {
            try nodes.add(pool: pool.name, flavor: pool.flavor, count: pool.nodes,
                          shape: .init(gpus: pool.gpus, cpu: pool.cpu, memoryGiB: pool.memoryGiB), zones: 3)
        }
        for queue in SchedulerHandler.inputQueues(env.topology) { env.track(queue: queue.name) }
        let environment = env.processEnvironment()
        var replicas = try (0..<3).map { _ in try WorkerProcess(executable: "scheduler", environment: environment) }
        defer { for replica in replicas { _ = replica.terminate() } }

        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "relay"))
        func admit(_ range: Range<Int>) throws {
            let events = range.map { index -> EventEnvelope in
                let (flavor, gpus, cpu, memory, count, sameZone) = Self.shapes[index % Self.shapes.count]
                let classes = ["critical", "high", "normal", "low", "batch"]
                return EventEnvelope(
                    type: "job.admitted", producer: "tests", tenant: ["alpha", "beta", "gamma"][index % 3],
                    payload: [
                        "job_id": .string(UUID().uuidString.lowercased()), "priority_class": .string(classes[index % 5]),
                        "replicas": .number(Double(count)),
                        "resources": ["flavor": .string(flavor), "gpus": .number(Double(gpus)), "cpu": .number(Double(cpu)),
                                      "memory_gib": .number(Double(memory))],
                        "max_runtime_seconds": .number(Double(3_600 * (1 + index % 12))), "same_zone": .bool(sameZone),
                        "submitted_at": .string(ISO8601.string(from: Date())),
                    ])
            }
            try EventRecorder.record(events, topology: env.topology, pool: env.pool)
            _ = try relay.drain()
        }

        try admit(0..<2_000)
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM sched_jobs WHERE state = 'scheduled'") >= 500 })
        let leader = try env.pool.withConnection { try $0.query("SELECT holder, epoch FROM scheduler_leader")[0] }
        let holder = try leader.decode(0, as: String.self)
        let epochBefore = try leader.decode(1, as: Int64.self)
        let victim = try #require(replicas.firstIndex { holder.hasSuffix("/\($0.process.processIdentifier)") }, "leader \(holder) is one of ours")
        let killedAt = Date()
        replicas[victim].kill()
        try admit(2_000..<5_000)

        // Another replica takes over within 5 s.
        #expect(try eventually(timeout: .seconds(10)) {
            try env.count("SELECT count(*) FROM scheduler_leader WHERE epoch > $1", [epochBefore]) == 1
        })
        let takeover = try env.pool.withConnection {
            try $0.query("SELECT acquired_at FROM scheduler_leader")[0].decode(0, as: Date.self)
        }
        #expect(takeover.timeIntervalSince(killedAt) <= 5, "took over after \(takeover.timeIntervalSince(killedAt)) s")
        replicas[victim] = try WorkerProcess(executable: "scheduler", environment: environment)

        // Everything is decided: every job placed or pending with a reason.
        #expect(try eventually(timeout: .seconds(120)) {
            try env.count("SELECT count(*) FROM sched_jobs") == 5_000
                && env.count("SELECT count(*) FROM sched_jobs WHERE state = 'pending' AND reason_code IS NULL") == 0
        })
        Thread.sleep(forTimeInterval: 2)  // let a last round settle

        // No node is ever over capacity: at every allocation instant, the open allocations fit.
        for (column, capacity) in [("gpus", "gpus"), ("cpu", "cpu"), ("memory_gib", "memory_gib")] {
            let over = try env.count(
                """
                SELECT count(*) FROM allocations a JOIN nodes n ON n.id = a.node_id
                WHERE (SELECT sum(b.\(column)) FROM allocations b
                       WHERE b.node_id = a.node_id AND b.allocated_at <= a.allocated_at
                         AND (b.released_at IS NULL OR b.released_at > a.allocated_at)) > n.\(capacity)
                """)
            #expect(over == 0, "\(over) allocations overfill a node's \(column)")
        }
        // Gangs are whole: a scheduled job has exactly one allocation per replica.
        #expect(try env.count(
            """
            SELECT count(*) FROM sched_jobs j WHERE j.state = 'scheduled'
              AND (SELECT count(*) FROM allocations a WHERE a.job_id = j.job_id) <> j.replicas
            """) == 0)
        // Same-zone gangs stayed in one zone.
        #expect(try env.count(
            """
            SELECT count(*) FROM sched_jobs j WHERE j.state = 'scheduled' AND j.same_zone
              AND (SELECT count(DISTINCT n.zone) FROM allocations a JOIN nodes n ON n.id = a.node_id WHERE a.job_id = j.job_id) > 1
            """) == 0)
        // Every job that fits the free capacity now was placed (unless held for a reservation).
        let fitsButWaits = try env.count(
            """
            WITH free AS (
                SELECT n.id, n.flavor, n.gpus - coalesce(sum(a.gpus), 0) AS gpus, n.cpu - coalesce(sum(a.cpu), 0) AS cpu,
                       n.memory_gib - coalesce(sum(a.memory_gib), 0) AS memory
                FROM nodes n LEFT JOIN allocations a ON a.node_id = n.id AND a.released_at IS NULL
                WHERE n.state = 'ready' GROUP BY n.id)
            SELECT count(*) FROM sched_jobs j
            WHERE j.state = 'pending' AND j.reason_code <> 'reserved'
              AND (SELECT coalesce(sum(LEAST(CASE WHEN j.gpus > 0 THEN f.gpus / j.gpus ELSE 1000000 END,
                                             f.cpu / j.cpu, f.memory / j.memory_gib)), 0)
                   FROM free f WHERE f.flavor = j.flavor) >= j.replicas
              AND NOT j.same_zone
            """)
        #expect(fitsButWaits == 0, "\(fitsButWaits) pending jobs would fit now")
        #expect(try env.count("SELECT count(*) FROM sched_jobs WHERE state = 'scheduled'") > 1_000)
        // Each placement is recorded once in the event log.
        #expect(try env.count("SELECT count(*) FROM events WHERE type = 'job.scheduled'")
                == env.count("SELECT count(*) FROM sched_jobs WHERE state = 'scheduled'"))
    }
}
