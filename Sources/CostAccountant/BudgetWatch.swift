import AgentCore
import AgentRuntime
import CostAccounting
import Foundation
import Postgres

/// Compares tenants' metered spending with their budgets and emits an event when a budget's state
/// changes: `budget.warning` (a budget reached its warning threshold), `budget.exceeded` (the
/// tenant has spent a budget: admission already refuses its jobs; the scheduler holds or downgrades
/// them; with policy `stop` the copy sent to the nodes running its jobs stops them at their next
/// checkpoint) and `budget.restored` (no budget is spent any more: raised, or a new month).
/// The last state is kept per tenant, scope and period under a row lock, so however many
/// replicas check, each change is announced once.
public enum BudgetWatch {
    struct Tenant {
        var name: String
        var monthly: Decimal?
        var total: Decimal?
        var warningPercent: Decimal
        var policy: String
    }

    static func check(
        _ names: Set<String>, now: Date, producer: String, topology: Topology, in db: PostgresConnection
    ) throws -> (events: [EventEnvelope], messages: [OutboxMessage]) {
        guard !names.isEmpty else { return ([], []) }
        let names = names.sorted()
        let month = Metering.monthText(now)
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
        guard !tenants.isEmpty else { return ([], []) }
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
        // The states to compare with: this month's, the total's, and any earlier month still not ok.
        try db.query(
            """
            INSERT INTO cost_budget_states (tenant, scope, period, state, spent)
            SELECT t, s, CASE s WHEN 'monthly' THEN $2 ELSE 'total' END, 'ok', 0
            FROM unnest($1::text[]) AS t, unnest(ARRAY['monthly', 'total']) AS s ORDER BY 1, 2
            ON CONFLICT DO NOTHING
            """, [names, month])
        var previous: [String: [(scope: String, period: String, state: BudgetState)]] = [:]
        for row in try db.query(
            """
            SELECT tenant, scope, period, state FROM cost_budget_states
            WHERE tenant = ANY($1::text[]) AND (period IN ($2, 'total') OR state <> 'ok') ORDER BY tenant, scope, period FOR UPDATE
            """, [names, month])
        {
            previous[try row.decode(0, as: String.self), default: []].append(
                (try row.decode(1), try row.decode(2), BudgetState(rawValue: try row.decode(3, as: String.self)) ?? .ok))
        }

        var events: [EventEnvelope] = []
        var messages: [OutboxMessage] = []
        var updates: [(tenant: String, scope: String, period: String, state: BudgetState, spent: Decimal, budget: Decimal?)] = []
        for tenant in tenants {
            let rows = previous[tenant.name] ?? []
            let wasOver = rows.contains { $0.state == .exceeded }
            var scopes: [JSONValue] = []
            var isOver = false
            for (scope, period, budget) in [("monthly", month, tenant.monthly), ("total", "total", tenant.total)] {
                let amount = spent["\(tenant.name)/\(period)"] ?? 0
                let old = rows.first { $0.scope == scope && $0.period == period }?.state ?? .ok
                let new = BudgetRule.state(spent: amount, budget: budget, warningPercent: tenant.warningPercent)
                if new == .exceeded { isOver = true }
                var detail: [String: JSONValue] = [
                    "scope": .string(scope), "period": .string(period), "spent": .string(amount.moneyText),
                    "budget": budget.map { .string($0.moneyText) } ?? .null,
                ]
                if scope == "monthly" {
                    detail["forecast_month_end"] = .string(
                        BudgetRule.monthEndForecast(
                            spent: amount, burnPerHour: burn[tenant.name] ?? 0, secondsLeft: Metering.secondsToMonthEnd(now),
                            reserved: reserved[tenant.name] ?? 0)
                            .moneyText)
                }
                if new == .exceeded { scopes.append(.object(detail)) }
                if BudgetRule.event(from: old, to: new) == "budget.warning", let budget, budget > 0 {
                    detail["warning_percent"] = .number(NSDecimalNumber(decimal: tenant.warningPercent).doubleValue)
                    detail["percent_spent"] = .number((NSDecimalNumber(decimal: amount / budget * 100).doubleValue * 10).rounded() / 10)
                    events.append(event("budget.warning", tenant: tenant.name, producer: producer, payload: detail))
                }
                if new != old { updates.append((tenant.name, scope, period, new, amount, budget)) }
            }
            if isOver && !wasOver {
                let nodes = tenant.policy == "stop" ? try openRunNodes(tenant.name, in: db) : []
                let exceeded = event(
                    "budget.exceeded", tenant: tenant.name, producer: producer,
                    payload: [
                        "policy": .string(tenant.policy), "scopes": .array(scopes), "nodes": .array(nodes.map(JSONValue.string)),
                        "burn_per_hour": .string((burn[tenant.name] ?? 0).moneyText),
                    ])
                events.append(exceeded)
                // The nodes running its jobs stop them at their next checkpoint.
                messages += try OutboxMessage.placementCopies(of: exceeded, nodes: nodes, topology: topology)
            } else if wasOver && !isOver {
                events.append(event("budget.restored", tenant: tenant.name, producer: producer, payload: ["policy": .string(tenant.policy)]))
            }
        }
        // Earlier months are over: their states close (a spent month no longer holds the tenant).
        try db.query(
            "UPDATE cost_budget_states SET state = 'ok', changed_at = $3 WHERE tenant = ANY($1::text[]) AND scope = 'monthly' AND period <> $2 AND state <> 'ok'",
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
        return (events, messages)
    }

    /// The nodes where the tenant has runs going (as the accountant last heard).
    static func openRunNodes(_ tenant: String, in db: PostgresConnection) throws -> [String] {
        try db.query(
            "SELECT DISTINCT node_id FROM cost_runs WHERE tenant = $1 AND ended_at IS NULL AND node_id IS NOT NULL ORDER BY 1", [tenant]
        ).map { try $0.decode(0, as: String.self) }
    }

    /// Tenants worth a periodic look: those with a budget, or a budget state that is not ok.
    static func watchedTenants(in db: PostgresConnection) throws -> Set<String> {
        Set(
            try db.query(
                """
                SELECT name FROM tenants WHERE monthly_budget IS NOT NULL OR total_budget IS NOT NULL
                UNION SELECT tenant FROM cost_budget_states WHERE state <> 'ok'
                """
            ).map { try $0.decode(0, as: String.self) })
    }

    private static func event(_ type: String, tenant: String, producer: String, payload: [String: JSONValue]) -> EventEnvelope {
        var payload = payload
        payload["tenant"] = .string(tenant)
        return EventEnvelope(type: type, producer: producer, tenant: tenant, subjects: ["tenant": tenant], payload: .object(payload))
    }
}
