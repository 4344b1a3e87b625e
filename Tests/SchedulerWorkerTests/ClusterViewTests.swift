import AgentTestSupport
import Foundation
import Scheduling
import Testing

@testable import SchedulerWorker

@Suite("The leader's cluster view keeps its prepared cluster current")
struct ClusterViewTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func running(_ n: Int, gpus: Int, nodes: [String]) -> RunningJob {
        RunningJob(
            id: UUID(uuidString: "00000000-0000-4000-8000-\(String(format: "%012d", n))")!, tenant: "acme", priorityClass: .normal,
            flavor: "gpu-v100", perReplica: ResourceVector(gpus: gpus, cpu: 8, memoryGiB: 64), nodes: nodes,
            startedAt: now, endsBy: now.addingTimeInterval(3_600))
    }

    @Test("Through placements, releases, a released job placed again elsewhere and an unknown release, rounds over the view's prepared cluster decide as over its nodes")
    func preparedFollowsTheView() {
        // Loaded with job 1 on n0 and n1, as the database would give them.
        let nodes = (0..<6).map { n in
            SchedulingNode(
                id: "n\(n)", pool: "p", flavor: "gpu-v100", zone: "z\(n % 2)", rack: "r", state: n == 5 ? .cordoned : .ready,
                capacity: ResourceVector(gpus: 8, cpu: 96, memoryGiB: 384),
                allocated: n < 2 ? ResourceVector(gpus: 4, cpu: 8, memoryGiB: 64) : .zero)
        }
        var view = ClusterView(epoch: 1, nodesVersion: 1, nodes: nodes, running: [Self.running(1, gpus: 4, nodes: ["n0", "n1"])])
        view.place(Self.running(2, gpus: 8, nodes: ["n2"]))
        view.place(Self.running(3, gpus: 2, nodes: ["n0", "n0", "n3"]))
        view.release([Self.running(1, gpus: 4, nodes: []).id])
        // A requeued job placed again on other nodes: its earlier placement is given back first.
        view.place(Self.running(3, gpus: 2, nodes: ["n4", "n1"]))
        view.release([UUID()])  // not held: changes nothing

        #expect(view.nodes.map { $0.allocated.gpus } == [0, 2, 8, 0, 2, 0])
        let pending = (0..<8).map { n in
            PendingJob(
                id: UUID(uuidString: "10000000-0000-4000-8000-\(String(format: "%012d", n))")!, tenant: "acme", priorityClass: .normal,
                flavor: "gpu-v100", perReplica: ResourceVector(gpus: [8, 6, 4, 2][n % 4], cpu: 8, memoryGiB: 64), replicas: 1,
                sameZone: false, submittedAt: Self.now.addingTimeInterval(Double(-n)), maxRuntimeSeconds: 3_600)
        }
        let policy = SchedulingPolicy(
            tenants: ["acme": TenantPolicy(name: "acme", weight: 1, cohort: nil, quotas: ["gpu-v100": TenantQuota(nominal: 1_000)])],
            quotaUnits: ["gpu-v100": .gpu], agingInterval: nil, backfill: true, now: Self.now)
        let running = Array(view.running.values)
        let fresh = Scheduler.schedule(cluster: view.nodes, running: running, pending: pending, policy: policy)
        let kept = Scheduler.schedule(prepared: view.prepared, running: running, pending: pending, policy: policy)
        #expect(!fresh.placements.isEmpty && !fresh.pending.isEmpty)
        #expect(kept.placements == fresh.placements)
        #expect(kept.pending == fresh.pending)
    }

    @Test("Loaded from the database, each node holds every open allocation on it, and the running jobs are the scheduled ones, from the same rows")
    func loadDerivesBothFromOneRead() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let (running, finished, released) = (UUID(), UUID(), UUID())
        let startedAt = Date(timeIntervalSince1970: 1_800_000_000)
        try env.pool.withConnection { db in
            try db.query(
                """
                INSERT INTO nodes (id, pool, flavor, zone, gpus, cpu, memory_gib)
                SELECT 'n' || i, 'p', 'gpu-v100', 'z1', 8, 96, 384 FROM generate_series(0, 2) i
                """)
            try db.query(
                """
                INSERT INTO sched_jobs (job_id, tenant, priority_class, flavor, gpus, cpu, memory_gib, replicas, submitted_at,
                                        max_runtime_seconds, state)
                SELECT id, 'acme', 'high', 'gpu-v100', 2, 8, 64, 2, $3, 3600, state
                FROM unnest($1::uuid[], $2::text[]) AS u(id, state)
                """, [[running, finished, released], ["scheduled", "finished", "finished"], startedAt])
            // The running job on n1 then n0 (replicas 0 and 1); an open allocation of a finished job
            // (its release not written yet) on n0; a released one on n2.
            try db.query(
                """
                INSERT INTO allocations (job_id, replica, node_id, gpus, cpu, memory_gib, epoch, allocated_at, released_at)
                VALUES ($1, 1, 'n0', 2, 8, 64, 1, $4, NULL), ($1, 0, 'n1', 2, 8, 64, 1, $4 + interval '1 second', NULL),
                       ($2, 0, 'n0', 4, 16, 32, 1, $4, NULL), ($3, 0, 'n2', 8, 96, 384, 1, $4, $4)
                """, [running, finished, released, startedAt])
        }
        let view = try env.pool.withConnection { try ClusterView.load(epoch: 1, nodesVersion: 1, in: $0) }

        #expect(view.nodes.map { $0.id } == ["n0", "n1", "n2"])
        #expect(view.nodes.map { $0.allocated } == [
            ResourceVector(gpus: 6, cpu: 24, memoryGiB: 96), ResourceVector(gpus: 2, cpu: 8, memoryGiB: 64), .zero,
        ])
        #expect(Array(view.running.keys) == [running])
        let job = try #require(view.running[running])
        #expect(job.nodes == ["n1", "n0"])
        #expect(job.priorityClass == .high)
        #expect(job.perReplica == ResourceVector(gpus: 2, cpu: 8, memoryGiB: 64))
        #expect(job.startedAt == startedAt)
        #expect(job.endsBy == startedAt.addingTimeInterval(3_600))
    }
}
