import AgentCore
import Foundation
import Postgres

/// A tenant that spent its budget (`budget.exceeded`, from the cost accountant) until it has
/// budget again (`budget.restored`). With policy `stop` its waiting jobs are held (reason
/// `budget`) while the node agents stop its running ones; with `downgrade` its jobs go on but are
/// marked `over_budget`, and the preemption worker may stop them for any other tenant's job.
enum BudgetHold {
    static func apply(tenant: String, exceeded: Bool, policy: String, in db: PostgresConnection) throws {
        guard exceeded else {
            try db.query("DELETE FROM sched_budget_holds WHERE tenant = $1", [tenant])
            try db.query("UPDATE sched_jobs SET over_budget = false WHERE tenant = $1 AND over_budget", [tenant])
            return
        }
        let message =
            policy == "stop"
            ? "tenant \(tenant) has spent its budget: its jobs wait until the budget is raised or a new month begins"
            : "tenant \(tenant) has spent its budget: its jobs run preemptible by any other tenant's job"
        try db.query(
            """
            INSERT INTO sched_budget_holds (tenant, policy, message) VALUES ($1, $2, $3)
            ON CONFLICT (tenant) DO UPDATE SET policy = EXCLUDED.policy, message = EXCLUDED.message
            """, [tenant, policy, message])
        try db.query(
            "UPDATE sched_jobs SET over_budget = $2 WHERE tenant = $1 AND state IN ('pending', 'scheduled') AND over_budget <> $2",
            [tenant, policy == "downgrade"])
    }

    /// Tenants over budget with policy `stop`: their waiting jobs are held, with this message.
    static func stopHolds(in db: PostgresConnection) throws -> [String: String] {
        var holds: [String: String] = [:]
        for row in try db.query("SELECT tenant, message FROM sched_budget_holds WHERE policy = 'stop'") {
            holds[try row.decode(0, as: String.self)] = try row.decode(1, as: String.self)
        }
        return holds
    }
}
