import Foundation
import Postgres
import Preemption
import Scheduling

/// What the preemption decision is made from, read from the scheduler's and the node agents'
/// slices (read only), and the preemption worker's own record of what it asked for.
enum PreemptionStore {
    struct Waiting {
        var request: PreemptionRequest
        var jobID: UUID
        var tenant: String
    }

    /// A waiting job that could use preemption: pending (placeable now), short of capacity or quota.
    static func waiting(jobID: UUID?, limit: Int, in db: PostgresConnection) throws -> [Waiting] {
        try db.query(
            """
            SELECT job_id, tenant, priority_class, flavor, gpus, cpu, memory_gib, replicas, same_zone, over_budget FROM sched_jobs
            WHERE state = 'pending' AND reason_code IN ('capacity', 'quota') AND (not_before IS NULL OR not_before <= now())
              AND ($1::uuid IS NULL OR job_id = $1)
            ORDER BY CASE priority_class WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
                     submitted_at
            LIMIT $2
            """, [jobID, limit]
        ).compactMap { row in
            guard let priority = PriorityClass(name: try row.decode(2, as: String.self)), priority > .batch else { return nil }
            let id = try row.decode(0, as: UUID.self)
            let tenant = try row.decode(1, as: String.self)
            return Waiting(
                request: PreemptionRequest(
                    id: id.uuidString.lowercased(), tenant: tenant, priorityClass: priority, flavor: try row.decode(3),
                    perReplica: Resources(gpus: try row.decode(4), cpu: try row.decode(5), memoryGiB: try row.decode(6)),
                    replicas: try row.decode(7), sameZone: try row.decode(8), overBudget: try row.decode(9)),
                jobID: id, tenant: tenant)
        }
    }

    static func nodes(flavor: String, in db: PostgresConnection) throws -> [PreemptionNode] {
        try db.query(
            """
            SELECT n.id, n.zone, n.gpus, n.cpu, n.memory_gib, coalesce(sum(a.gpus), 0)::int, coalesce(sum(a.cpu), 0)::int,
                   coalesce(sum(a.memory_gib), 0)::int, n.state = 'ready'
            FROM nodes n LEFT JOIN allocations a ON a.node_id = n.id AND a.released_at IS NULL
            WHERE n.flavor = $1 GROUP BY n.id
            """, [flavor]
        ).map { row in
            let capacity = Resources(gpus: try row.decode(2), cpu: try row.decode(3), memoryGiB: try row.decode(4))
            let used = Resources(gpus: try row.decode(5), cpu: try row.decode(6), memoryGiB: try row.decode(7))
            return PreemptionNode(
                id: try row.decode(0), flavor: flavor, zone: try row.decode(1), capacity: capacity, free: capacity - used,
                placeable: try row.decode(8))
        }
    }

    struct Running {
        var job: Preemption.RunningJob
        var attempt: Int
        var units: Int
    }

    /// Running jobs of the flavor (a run of their current attempt has started) with that attempt's
    /// start, newest checkpoint and price.
    static func running(flavor: String, in db: PostgresConnection) throws -> [Running] {
        try db.query(
            """
            SELECT j.job_id, j.tenant, j.priority_class, j.gpus, j.cpu, j.memory_gib, array_agg(a.node_id ORDER BY a.replica)::text[],
                   extract(epoch FROM min(a.allocated_at))::float8, j.attempt,
                   (SELECT extract(epoch FROM max(c.recorded_at))::float8 FROM checkpoints c WHERE c.job_id = j.job_id AND NOT c.discarded),
                   (f.price_per_unit_hour * CASE WHEN j.priority_class = 'batch' THEN 1 - f.batch_discount ELSE 1 END)::float8,
                   CASE WHEN f.quota_unit = 'gpu' THEN j.gpus ELSE j.cpu END * j.replicas, j.over_budget
            FROM sched_jobs j JOIN allocations a ON a.job_id = j.job_id AND a.released_at IS NULL JOIN flavors f ON f.name = j.flavor
            WHERE j.state = 'scheduled' AND j.flavor = $1
              -- only jobs whose current attempt runs: a stop sent before its placement reached the
              -- node would find nothing to stop
              AND EXISTS (SELECT 1 FROM runs r WHERE r.job_id = j.job_id AND r.attempt = j.attempt AND r.state = 'running')
            GROUP BY j.job_id, f.price_per_unit_hour, f.batch_discount, f.quota_unit
            """, [flavor]
        ).compactMap { row in
            guard let priority = PriorityClass(name: try row.decode(2, as: String.self)) else { return nil }
            return Running(
                job: Preemption.RunningJob(
                    id: try row.decode(0, as: UUID.self).uuidString.lowercased(), tenant: try row.decode(1), priorityClass: priority,
                    flavor: flavor, perReplica: Resources(gpus: try row.decode(3), cpu: try row.decode(4), memoryGiB: try row.decode(5)),
                    nodes: try row.decode(6), startedAt: try row.decode(7), lastCheckpointAt: try row.decodeIfPresent(9, as: Double.self),
                    pricePerUnitHour: try row.decode(10), overBudget: try row.decode(12)),
                attempt: try row.decode(8), units: try row.decode(11))
        }
    }

    /// Nominal quota of each tenant for the flavor (in its quota unit).
    static func nominal(flavor: String, in db: PostgresConnection) throws -> [String: Int] {
        var quotas: [String: Int] = [:]
        for row in try db.query("SELECT tenant, nominal FROM tenant_quotas WHERE flavor = $1", [flavor]) {
            quotas[try row.decode(0, as: String.self)] = try row.decode(1, as: Int.self)
        }
        return quotas
    }

    /// Victims asked to stop whose attempt is still running (their capacity is on its way back).
    static func preempting(in db: PostgresConnection) throws -> Set<String> {
        Set(try db.query(
            """
            SELECT p.victim_job_id FROM preemptions p JOIN sched_jobs j ON j.job_id = p.victim_job_id
            WHERE j.state = 'scheduled' AND j.attempt = p.victim_attempt
            """
        ).map { try $0.decode(0, as: UUID.self).uuidString.lowercased() })
    }

    static func quotaUnit(flavor: String, in db: PostgresConnection) throws -> String {
        try db.query("SELECT quota_unit FROM flavors WHERE name = $1", [flavor]).first.map { try $0.decode(0, as: String.self) } ?? "gpu"
    }
}
