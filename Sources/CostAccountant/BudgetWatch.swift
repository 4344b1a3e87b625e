import AgentCore
import AgentRuntime
import CostAccounting
import Foundation
import Postgres

/// Compares tenants' metered spending with their budgets and emits an event when a budget's state
/// changes: `budget.warning` (a budget reached its warning threshold), `budget.exceeded` (the
/// tenant has spent a budget: admission already refuses its jobs; the scheduler holds or downgrades
/// them and, with policy `stop`, sends the event to the nodes running them, whose agents stop them
/// at their next checkpoint) and `budget.restored` (no budget is spent any more: raised, or a new
/// month). A policy changed while over budget is announced again with `budget.exceeded`.
///
/// The tenant's row in `cost_budget_tenants` is locked before anything is read, so however many
/// replicas check, they decide one after the other on fresh figures and each change is announced
/// once; `budget.exceeded` / `budget.restored` carry a version from one sequence, taken under that
/// lock, by which the scheduler orders them.
public enum BudgetWatch {
    struct Tenant {
        var name: String
        var monthly: Decimal?
        var total: Decimal?
        var warningPercent: Decimal
        var policy: String
    }

    /// What was last announced for a tenant.
    struct Announced {
        var over: Bool
        var policy: String?
    }

    static func check(
        _ names: Set<String>, now: Date, producer: String, in db: PostgresConnection
    ) throws -> [EventEnvelope] {
        // Only tenants with a budget, or announced over one, have anything to check; the others are
        // left unlocked (metering a batch of an unbudgeted tenant's runs costs one read here). A
        // budget set meanwhile comes with tenant.budget_set, whose own check sees it.
        let names = try watchedTenants(among: names, in: db).sorted()
        guard !names.isEmpty else { return [] }
        let month = Metering.monthText(now)
        // First the lock (name order on every replica), then the figures.
        try db.query(
            "INSERT INTO cost_budget_tenants (tenant) SELECT t FROM unnest($1::text[]) AS t ORDER BY 1 ON CONFLICT DO NOTHING", [names])
        var announced: [String: Announced] = [:]
        for row in try db.query(
            "SELECT tenant, over, policy FROM cost_budget_tenants WHERE tenant = ANY($1::text[]) ORDER BY tenant FOR UPDATE", [names])
        {
            announced[try row.decode(0, as: String.self)] = Announced(over: try row.decode(1), policy: try row.decodeIfPresent(2, as: String.self))
        }
        // A replica whose clock is behind another's across a month's end would judge a month that
        // is over: leave it to the one that has moved on.
        if let latest = try db.query(
            "SELECT max(period) FROM cost_budget_states WHERE tenant = ANY($1::text[]) AND scope = 'monthly'", [names]
        ).first.flatMap({ try $0.decodeIfPresent(0, as: String.self) }), latest > month {
            return []
        }
        var tenants: [Tenant] = []
        for row in try db.query(
            "SELECT name, monthly_budget, total_budget, budget_warning_percent, over_budget FROM tenants WHERE name = ANY($1::text[]) ORDER BY name",
            [names])
        {
            tenants.append(
                Tenant(
                    name: try row.decode(0), monthly: try row.decodeIfPresent(1, as: Decimal.self), total: try row.decodeIfPresent(2, as: Decimal.self),
                    warningPercent: try row.decode(3), policy: try row.decode(4)))
        }
        guard !tenants.isEmpty else { return [] }
        var spent: [String: Decimal] = [:]  // "tenant/period"
        var reserved: [String: Decimal] = [:]  // this month's reservations not yet released
        for row in try db.query(
            """
            SELECT t, p, coalesce(c.metered, 0), coalesce(a.reserved, 0) - coalesce(c.released, 0)
            FROM unnest($1::text[]) AS t CROSS JOIN unnest(ARRAY[$2, 'total']) AS p
            LEFT JOIN cost_spend c ON c.tenant = t AND c.period = p LEFT JOIN tenant_spend a ON a.tenant = t AND a.period = p
            """, [names, month])
        {
            let tenant = try row.decode(0, as: String.self)
            let period = try row.decode(1, as: String.self)
            spent["\(tenant)/\(period)"] = try row.decode(2, as: Decimal.self)
            if period == month { reserved[tenant] = try row.decode(3, as: Decimal.self) }
        }
        var burn: [String: Decimal] = [:]
        for row in try db.query(
            """
            SELECT tenant, sum(rate_per_hour) FROM cost_runs
            WHERE tenant = ANY($1::text[]) AND ended_at IS NULL AND started_at IS NOT NULL GROUP BY tenant
            """, [names])
        {
            burn[try row.decode(0, as: String.self)] = try row.decode(1, as: Decimal.self)
        }
        // Each budget's last state (for warnings), this month's and the total's.
        try db.query(
            """
            INSERT INTO cost_budget_states (tenant, scope, period, state, spent)
            SELECT t, s, CASE s WHEN 'monthly' THEN $2 ELSE 'total' END, 'ok', 0
            FROM unnest($1::text[]) AS t, unnest(ARRAY['monthly', 'total']) AS s ORDER BY 1, 2
            ON CONFLICT DO NOTHING
            """, [names, month])
        var previous: [String: BudgetState] = [:]  // "tenant/scope"
        for row in try db.query(
            "SELECT tenant, scope, state FROM cost_budget_states WHERE tenant = ANY($1::text[]) AND period IN ($2, 'total')", [names, month])
        {
            previous["\(try row.decode(0, as: String.self))/\(try row.decode(1, as: String.self))"] =
                BudgetState(rawValue: try row.decode(2, as: String.self)) ?? .ok
        }

        var events: [EventEnvelope] = []
        var updates: [(tenant: String, scope: String, period: String, state: BudgetState, spent: Decimal, budget: Decimal?)] = []
        var announcements: [(tenant: String, over: Bool, policy: String?, version: Int64)] = []
        for tenant in tenants {
            var scopes: [JSONValue] = []
            for (scope, period, budget) in [("monthly", month, tenant.monthly), ("total", "total", tenant.total)] {
                let amount = spent["\(tenant.name)/\(period)"] ?? 0
                let old = previous["\(tenant.name)/\(scope)"] ?? .ok
                let new = BudgetRule.state(spent: amount, budget: budget, warningPercent: tenant.warningPercent)
                var detail: [String: JSONValue] = [
                    "scope": .string(scope), "period": .string(period), "spent": .string(amount.moneyText),
                    "budget": budget.map { .string($0.moneyText) } ?? .null,
                ]
                if scope == "monthly" {
                    detail["forecast_month_end"] = .string(
                        BudgetRule.monthEndForecast(
                            spent: amount, burnPerHour: burn[tenant.name] ?? 0, secondsLeft: Metering.secondsToMonthEnd(now),
                            reserved: reserved[tenant.name] ?? 0
                        ).moneyText)
                }
                if new == .exceeded { scopes.append(.object(detail)) }
                if BudgetRule.event(from: old, to: new) == "budget.warning", let budget, budget > 0 {
                    detail["warning_percent"] = .number(NSDecimalNumber(decimal: tenant.warningPercent).doubleValue)
                    detail["percent_spent"] = .number((NSDecimalNumber(decimal: amount / budget * 100).doubleValue * 10).rounded() / 10)
                    events.append(event("budget.warning", tenant: tenant.name, producer: producer, payload: detail))
                }
                if new != old { updates.append((tenant.name, scope, period, new, amount, budget)) }
            }
            let was = announced[tenant.name] ?? Announced(over: false, policy: nil)
            let isOver = !scopes.isEmpty
            // Over budget now and not before, or still over but under another policy: (re)announce.
            if isOver && (!was.over || was.policy != tenant.policy) {
                let version = try nextVersion(in: db)
                events.append(
                    event(
                        "budget.exceeded", tenant: tenant.name, producer: producer,
                        payload: [
                            "policy": .string(tenant.policy), "scopes": .array(scopes), "version": .number(Double(version)),
                            "burn_per_hour": .string((burn[tenant.name] ?? 0).moneyText),
                        ]))
                announcements.append((tenant.name, true, tenant.policy, version))
            } else if was.over && !isOver {
                let version = try nextVersion(in: db)
                events.append(
                    event(
                        "budget.restored", tenant: tenant.name, producer: producer,
                        payload: ["policy": .string(tenant.policy), "version": .number(Double(version))]))
                announcements.append((tenant.name, false, nil, version))
            }
        }
        // Earlier months are over: their states close. Only earlier ones: a replica whose clock is
        // behind must not reopen the month another one already began.
        try db.query(
            "UPDATE cost_budget_states SET state = 'ok', changed_at = $3 WHERE tenant = ANY($1::text[]) AND scope = 'monthly' AND period < $2 AND state <> 'ok'",
            [names, month, now])
        if !updates.isEmpty {
            try db.query(
                """
                UPDATE cost_budget_states s SET state = u.state, spent = u.spent, budget = u.budget, changed_at = $7
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::numeric[]) AS u(tenant, scope, period, state, spent, budget)
                WHERE s.tenant = u.tenant AND s.scope = u.scope AND s.period = u.period
                """,
                [
                    updates.map(\.tenant), updates.map(\.scope), updates.map(\.period), updates.map(\.state.rawValue), updates.map(\.spent),
                    PostgresNullableArray(updates.map(\.budget)), now,
                ])
        }
        for (tenant, over, policy, version) in announcements {
            try db.query(
                "UPDATE cost_budget_tenants SET over = $2, policy = $3, version = $4, changed_at = $5 WHERE tenant = $1",
                [tenant, over, policy, version, now])
        }
        return events
    }

    /// Versions come from one sequence, taken while the tenant's row is locked: one tenant's
    /// announcements get increasing versions in the order they were made.
    private static func nextVersion(in db: PostgresConnection) throws -> Int64 {
        try db.query("SELECT nextval('cost_budget_versions')")[0].decode(0, as: Int64.self)
    }

    /// Tenants worth a look (all of them, or those among `names`): those with a budget, or
    /// announced over budget.
    static func watchedTenants(among names: Set<String>? = nil, in db: PostgresConnection) throws -> Set<String> {
        if let names, names.isEmpty { return [] }
        return Set(
            try db.query(
                """
                SELECT name FROM tenants WHERE (monthly_budget IS NOT NULL OR total_budget IS NOT NULL) AND ($1::text[] IS NULL OR name = ANY($1))
                UNION SELECT tenant FROM cost_budget_tenants WHERE over AND ($1::text[] IS NULL OR tenant = ANY($1))
                """, [names.map { Array($0) }]
            ).map { try $0.decode(0, as: String.self) })
    }

    private static func event(_ type: String, tenant: String, producer: String, payload: [String: JSONValue]) -> EventEnvelope {
        var payload = payload
        payload["tenant"] = .string(tenant)
        return EventEnvelope(type: type, producer: producer, tenant: tenant, subjects: ["tenant": tenant], payload: .object(payload))
    }
}
