import AgentCore
import Foundation
import Postgres

/// A tenant that spent its budget (`budget.exceeded`, from the cost accountant) until it has
/// budget again (`budget.restored`). With policy `stop` its waiting jobs are held (reason
/// `budget`), and the event goes on to the nodes its running jobs hold, whose agents stop them at
/// their next checkpoint; with `downgrade` its jobs go on but are marked `over_budget`, and the
/// preemption worker may stop them for any other tenant's job. Events carry a version: one older
/// than the last applied for the tenant (the broker does not keep their order) changes nothing.
enum BudgetHold {
    /// Returns the nodes to send the event to (a `stop` hold: those of the tenant's running jobs).
    static func apply(tenant: String, exceeded: Bool, policy: String, version: Int, in db: PostgresConnection) throws -> [String] {
        let message =
            !exceeded ? "tenant \(tenant) has budget again"
            : policy == "stop"
                ? "tenant \(tenant) has spent its budget: its jobs wait until the budget is raised or a new month begins"
                : "tenant \(tenant) has spent its budget: its jobs run preemptible by any other tenant's job"
        if exceeded && policy == "stop" {
            // A round in flight (it holds the leader row) may be placing this tenant's work: wait
            // for it, so its allocations are among the nodes told below (as for node.lost).
            try db.query("SELECT 1 FROM scheduler_leader FOR SHARE")
        }
        let applied = try db.query(
            """
            INSERT INTO sched_budget_holds (tenant, policy, message, held, version, since) VALUES ($1, $2, $3, $4, $5, now())
            ON CONFLICT (tenant) DO UPDATE SET policy = EXCLUDED.policy, message = EXCLUDED.message, held = EXCLUDED.held,
                version = EXCLUDED.version, since = EXCLUDED.since
            WHERE sched_budget_holds.version < EXCLUDED.version
               OR (EXCLUDED.version = 0 AND sched_budget_holds.version = 0)  -- senders without versions
            RETURNING tenant
            """, [tenant, policy, message, exceeded, version])
        guard !applied.isEmpty else { return [] }  // stale
        try db.query(
            "UPDATE sched_jobs SET over_budget = $2 WHERE tenant = $1 AND state IN ('pending', 'scheduled') AND over_budget <> $2",
            [tenant, exceeded && policy == "downgrade"])
        guard exceeded, policy == "stop" else { return [] }
        return try db.query(
            """
            SELECT DISTINCT a.node_id FROM allocations a JOIN sched_jobs j ON j.job_id = a.job_id
            WHERE j.tenant = $1 AND j.state = 'scheduled' AND a.released_at IS NULL ORDER BY 1
            """, [tenant]
        ).map { try $0.decode(0, as: String.self) }
    }

    /// Tenants over budget with policy `stop`: their waiting jobs are held, with this message.
    static let stopHoldsStatement = PostgresStatement("SELECT tenant, message FROM sched_budget_holds WHERE held AND policy = 'stop'")

    static func stopHolds(_ result: PostgresResult) throws -> [String: String] {
        var holds: [String: String] = [:]
        for row in result {
            holds[try row.decode(0, as: String.self)] = try row.decode(1, as: String.self)
        }
        return holds
    }
}
