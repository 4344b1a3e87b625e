import AgentCore
import CostAccounting
import Foundation
import Postgres

/// What `agentctl cost` reads: the ledger grouped for people and warehouses, budgets with their
/// forecast, and allocated versus busy capacity per pool.
public enum CostQueries {
    public enum Grouping: String, CaseIterable, Sendable {
        case day, agent, job
    }

    /// One line of a cost report: a tenant's day, agent or job.
    public struct ReportRow: Codable, Sendable, Equatable {
        public var tenant: String
        /// The day (`2026-11-25`), agent name or job id.
        public var key: String
        /// For `--by job`: the job's name, agent and flavor.
        public var name: String?
        public var agent: String?
        public var flavor: String?
        public var runs: Int
        /// Replica-hours: the time each replica ran.
        public var replicaHours: Double
        public var gpuHours: Double
        public var coreHours: Double
        /// Exact (10⁻⁸), as the ledger keeps it.
        public var cost: Decimal

        enum CodingKeys: String, CodingKey {
            case tenant, key, name, agent, flavor, runs, cost
            case replicaHours = "replica_hours"
            case gpuHours = "gpu_hours"
            case coreHours = "core_hours"
        }
    }

    /// The ledger from `since` (a UTC day) to `until` (inclusive; nil: today), by day, agent or job.
    public static func report(
        tenant: String?, by grouping: Grouping, since: Date, until: Date? = nil, in db: PostgresConnection
    ) throws -> [ReportRow] {
        // The grouping picks one of three fixed expressions; values are parameters.
        let key =
            switch grouping {
            case .day: "l.day::text"
            case .agent: "l.agent"
            case .job: "l.job_id::text"
            }
        let jobColumns = grouping == .job ? "min(j.name), min(l.agent), min(l.flavor)" : "NULL::text, NULL::text, NULL::text"
        return try db.query(
            """
            SELECT l.tenant, \(key), \(jobColumns), count(DISTINCT l.run_id)::int, (sum(l.seconds) / 3600)::float8,
                   coalesce(sum(l.seconds * r.units) FILTER (WHERE r.unit = 'gpu') / 3600, 0)::float8,
                   coalesce(sum(l.seconds * r.units) FILTER (WHERE r.unit = 'cpu') / 3600, 0)::float8, sum(l.cost)
            FROM cost_ledger l JOIN cost_runs r ON r.run_id = l.run_id LEFT JOIN jobs j ON j.id = l.job_id
            WHERE ($1::text IS NULL OR l.tenant = $1) AND l.day >= $2::date AND ($3::date IS NULL OR l.day <= $3::date)
            GROUP BY l.tenant, \(key) ORDER BY l.tenant, \(key)
            """, [tenant, Metering.dayText(since), until.map(Metering.dayText)]
        ).map { row in
            ReportRow(
                tenant: try row.decode(0), key: try row.decode(1), name: try row.decodeIfPresent(2, as: String.self),
                agent: try row.decodeIfPresent(3, as: String.self), flavor: try row.decodeIfPresent(4, as: String.self), runs: try row.decode(5),
                replicaHours: try row.decode(6), gpuHours: try row.decode(7), coreHours: try row.decode(8), cost: try row.decode(9))
        }
    }

    /// A tenant's money this month and in total.
    public struct BudgetRow: Codable, Sendable, Equatable {
        public var tenant: String
        public var month: String
        public var monthlyBudget: Decimal?
        /// Metered this month.
        public var spentThisMonth: Decimal
        /// What admitted jobs still hold back this month (projected cost not yet replaced by metering).
        public var reservedThisMonth: Decimal
        /// Spent, plus what the running jobs cost per hour until the month ends, at most what is reserved.
        public var forecastMonthEnd: Decimal
        public var totalBudget: Decimal?
        public var spentTotal: Decimal
        public var burnPerHour: Decimal
        /// `ok`, `warning` or `exceeded`: the worse of the monthly and total budgets' states.
        public var state: String
        public var warningPercent: Decimal
        public var overBudget: String

        enum CodingKeys: String, CodingKey {
            case tenant, month, state
            case monthlyBudget = "monthly_budget"
            case spentThisMonth = "spent_this_month"
            case reservedThisMonth = "reserved_this_month"
            case forecastMonthEnd = "forecast_month_end"
            case totalBudget = "total_budget"
            case spentTotal = "spent_total"
            case burnPerHour = "burn_per_hour"
            case warningPercent = "warning_percent"
            case overBudget = "over_budget"
        }
    }

    public static func budgets(tenant: String?, now: Date = Date(), in db: PostgresConnection) throws -> [BudgetRow] {
        let month = Metering.monthText(now)
        return try db.query(
            """
            SELECT t.name, t.monthly_budget, coalesce(m.metered, 0),
                   greatest(coalesce(s.reserved, 0) - coalesce(m.released, 0), 0),
                   t.total_budget, coalesce(a.metered, 0),
                   coalesce((SELECT sum(r.rate_per_hour) FROM cost_runs r
                             WHERE r.tenant = t.name AND r.ended_at IS NULL AND r.started_at IS NOT NULL), 0),
                   coalesce((SELECT max(CASE b.state WHEN 'exceeded' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END)
                             FROM cost_budget_states b WHERE b.tenant = t.name AND b.period IN ($2, 'total')), 0),
                   t.budget_warning_percent, t.over_budget
            FROM tenants t
            LEFT JOIN cost_spend m ON m.tenant = t.name AND m.period = $2
            LEFT JOIN cost_spend a ON a.tenant = t.name AND a.period = 'total'
            LEFT JOIN tenant_spend s ON s.tenant = t.name AND s.period = $2
            WHERE $1::text IS NULL OR t.name = $1
            ORDER BY t.name
            """, [tenant, month]
        ).map { row in
            let spent = try row.decode(2, as: Decimal.self)
            let burn = try row.decode(6, as: Decimal.self)
            let reserved = try row.decode(3, as: Decimal.self)
            return BudgetRow(
                tenant: try row.decode(0), month: month, monthlyBudget: try row.decodeIfPresent(1, as: Decimal.self), spentThisMonth: spent,
                reservedThisMonth: reserved,
                forecastMonthEnd: BudgetRule.monthEndForecast(
                    spent: spent, burnPerHour: burn, secondsLeft: Metering.secondsToMonthEnd(now), reserved: reserved),
                totalBudget: try row.decodeIfPresent(4, as: Decimal.self), spentTotal: try row.decode(5), burnPerHour: burn,
                state: ["ok", "warning", "exceeded"][try row.decode(7, as: Int.self)], warningPercent: try row.decode(8),
                overBudget: try row.decode(9))
        }
    }

    /// Capacity of a pool over a window: what the scheduler allocated and what runs were busy
    /// with, in the flavor's unit (GPU-hours, or core-hours for CPU flavors).
    public struct UtilisationRow: Codable, Sendable, Equatable {
        public var pool: String
        public var flavor: String
        public var unit: String
        public var nodes: Int
        /// Units × nodes × the window: what the pool could have given.
        public var capacityHours: Double
        public var allocatedHours: Double
        public var busyHours: Double

        enum CodingKeys: String, CodingKey {
            case pool, flavor, unit, nodes
            case capacityHours = "capacity_hours"
            case allocatedHours = "allocated_hours"
            case busyHours = "busy_hours"
        }
    }

    public static func utilisation(since: Date, now: Date = Date(), in db: PostgresConnection) throws -> [UtilisationRow] {
        try db.query(
            """
            WITH pools AS (
                SELECT n.pool, n.flavor, f.quota_unit AS unit, count(*)::int AS nodes,
                       sum(CASE f.quota_unit WHEN 'gpu' THEN n.gpus ELSE n.cpu END) AS units
                FROM nodes n JOIN flavors f ON f.name = n.flavor GROUP BY n.pool, n.flavor, f.quota_unit
            ), allocated AS (
                SELECT n.pool, sum(CASE f.quota_unit WHEN 'gpu' THEN a.gpus ELSE a.cpu END
                                   * extract(epoch FROM least(coalesce(a.released_at, $2), $2) - greatest(a.allocated_at, $1))) AS unit_seconds
                FROM allocations a JOIN nodes n ON n.id = a.node_id JOIN flavors f ON f.name = n.flavor
                WHERE a.allocated_at < $2 AND coalesce(a.released_at, $2) > $1 GROUP BY n.pool
            ), metered AS (
                -- each run's interval as metered (a lost run: up to the last report that saw it running)
                SELECT r.node_id, r.units, r.started_at,
                       CASE WHEN r.outcome = 'lost' THEN least(r.ended_at, coalesce(r.seen_until, r.started_at))
                            ELSE coalesce(r.ended_at, r.seen_until, $2) END AS until
                FROM cost_runs r WHERE r.started_at IS NOT NULL
            ), busy AS (
                SELECT n.pool, sum(m.units * extract(epoch FROM least(m.until, $2) - greatest(m.started_at, $1))) AS unit_seconds
                FROM metered m JOIN nodes n ON n.id = m.node_id
                WHERE m.started_at < $2 AND m.until > $1 GROUP BY n.pool
            )
            SELECT p.pool, p.flavor, p.unit, p.nodes, (p.units * extract(epoch FROM $2::timestamptz - $1::timestamptz) / 3600)::float8,
                   (coalesce(a.unit_seconds, 0) / 3600)::float8, (coalesce(b.unit_seconds, 0) / 3600)::float8
            FROM pools p LEFT JOIN allocated a ON a.pool = p.pool LEFT JOIN busy b ON b.pool = p.pool
            ORDER BY p.pool
            """, [since, now]
        ).map { row in
            UtilisationRow(
                pool: try row.decode(0), flavor: try row.decode(1), unit: try row.decode(2), nodes: try row.decode(3),
                capacityHours: try row.decode(4), allocatedHours: try row.decode(5), busyHours: try row.decode(6))
        }
    }
}
