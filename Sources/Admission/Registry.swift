import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// Tenants, quotas, budgets, agents and versions: the admission slice's registry, used by
/// agentctl (and later the REST API). Every change is validated first (a clear error, nothing
/// changed) and recorded as an event in the same transaction.
public struct Registry: Sendable {
    let pool: PostgresPool
    let topology: Topology
    /// Who makes the changes, recorded as producer and `created_by` (e.g. `agentctl:alice`).
    let actor: String

    public init(pool: PostgresPool, topology: Topology, actor: String) {
        self.pool = pool
        self.topology = topology
        self.actor = actor
    }

    // MARK: tenants

    public func createTenant(
        _ name: String, weight: Decimal = 1, cohort: String? = nil, monthlyBudget: Decimal? = nil, totalBudget: Decimal? = nil
    ) throws {
        try RegistryError.check(name.isValidName, field: "name", "must be 1-63 lowercase letters, digits or '-', starting with a letter; got \"\(name)\"")
        try RegistryError.check(weight > 0 && weight <= 1000, field: "weight", "must be greater than 0 and at most 1000, got \(weight)")
        if let cohort { try RegistryError.check(cohort.isValidName, field: "cohort", "must be 1-63 lowercase letters, digits or '-', got \"\(cohort)\"") }
        try checkBudgets(monthlyBudget, totalBudget)
        try record(
            "tenant.created", tenant: name,
            payload: [
                "weight": .string(weight.description), "cohort": cohort.map(JSONValue.string) ?? .null,
                "monthly_budget": monthlyBudget.map { .string($0.moneyText) } ?? .null,
                "total_budget": totalBudget.map { .string($0.moneyText) } ?? .null,
            ]
        ) { db in
            guard try RegistryStore.tenant(name, in: db) == nil else {
                throw RegistryError(field: "name", "tenant \(name) already exists")
            }
            try db.query(
                "INSERT INTO tenants (name, weight, cohort, monthly_budget, total_budget) VALUES ($1, $2, $3, $4, $5)",
                [name, weight, cohort, monthlyBudget, totalBudget])
        }
    }

    public func setQuota(tenant: String, flavor: String, nominal: Int, borrowingLimit: Int = 0) throws {
        try RegistryError.check(nominal >= 0 && nominal <= 1_000_000, field: "nominal", "must be between 0 and 1000000, got \(nominal)")
        try RegistryError.check(
            borrowingLimit >= 0 && borrowingLimit <= 1_000_000, field: "borrowing-limit", "must be between 0 and 1000000, got \(borrowingLimit)")
        try record(
            "tenant.quota_set", tenant: tenant,
            payload: ["flavor": .string(flavor), "nominal": .number(Double(nominal)), "borrowing_limit": .number(Double(borrowingLimit))]
        ) { db in
            try requireTenant(tenant, db)
            guard try db.query("SELECT 1 FROM flavors WHERE name = $1", [flavor]).count == 1 else {
                let known = try db.query("SELECT name FROM flavors ORDER BY name").map { try $0.decode(0, as: String.self) }
                throw RegistryError(field: "flavor", "flavor \(flavor) does not exist (flavors: \(known.joined(separator: ", ")))")
            }
            try db.query(
                """
                INSERT INTO tenant_quotas (tenant, flavor, nominal, borrowing_limit) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant, flavor) DO UPDATE SET nominal = EXCLUDED.nominal, borrowing_limit = EXCLUDED.borrowing_limit
                """, [tenant, flavor, nominal, borrowingLimit])
        }
    }

    /// What happens to a tenant's jobs once it spent a budget: stopped at their next checkpoint
    /// (and held until it has budget again), or kept running preemptible by other tenants' jobs.
    public enum OverBudgetPolicy: String, Sendable, CaseIterable {
        case stop, downgrade
    }

    /// One budget in a change: left as it is, removed (no limit), or set.
    public enum BudgetChange: Sendable, Equatable {
        case keep, unlimited
        case amount(Decimal)
    }

    /// Sets both budgets (nil means no limit) and, when given, the warning threshold (percent of a
    /// budget spent) and the over-budget policy; the cost accountant checks the tenant at once.
    public func setBudget(
        tenant: String, monthly: Decimal?, total: Decimal?, warnAtPercent: Decimal? = nil, overBudget: OverBudgetPolicy? = nil
    ) throws {
        _ = try changeBudget(
            tenant: tenant, monthly: monthly.map(BudgetChange.amount) ?? .unlimited, total: total.map(BudgetChange.amount) ?? .unlimited,
            warnAtPercent: warnAtPercent, overBudget: overBudget)
    }

    /// Changes what is named and keeps the rest, in one transaction (the tenant's row locked, so
    /// two changes at once cannot undo each other); returns the budgets now in force.
    public func changeBudget(
        tenant: String, monthly: BudgetChange, total: BudgetChange, warnAtPercent: Decimal? = nil, overBudget: OverBudgetPolicy? = nil
    ) throws -> (monthly: Decimal?, total: Decimal?) {
        func amount(_ change: BudgetChange) -> Decimal? { if case .amount(let value) = change { value } else { nil } }
        try checkBudgets(amount(monthly), amount(total))
        if let warnAtPercent {
            try RegistryError.check(warnAtPercent > 0 && warnAtPercent <= 100, field: "warn-at", "must be a percentage above 0 and at most 100, got \(warnAtPercent)")
        }
        return try pool.transaction { db in
            guard let row = try db.query("SELECT monthly_budget, total_budget FROM tenants WHERE name = $1 FOR UPDATE", [tenant]).first else {
                throw RegistryError(field: "tenant", "tenant \(tenant) does not exist")
            }
            func resolved(_ change: BudgetChange, current: Decimal?) -> Decimal? {
                switch change {
                case .keep: current
                case .unlimited: nil
                case .amount(let value): value
                }
            }
            let newMonthly = resolved(monthly, current: try row.decodeIfPresent(0, as: Decimal.self))
            let newTotal = resolved(total, current: try row.decodeIfPresent(1, as: Decimal.self))
            try db.query(
                """
                UPDATE tenants SET monthly_budget = $2, total_budget = $3, budget_warning_percent = coalesce($4, budget_warning_percent),
                                   over_budget = coalesce($5, over_budget)
                WHERE name = $1
                """, [tenant, newMonthly, newTotal, warnAtPercent, overBudget?.rawValue])
            var payload: [String: JSONValue] = [
                "monthly_budget": newMonthly.map { .string($0.moneyText) } ?? .null,
                "total_budget": newTotal.map { .string($0.moneyText) } ?? .null,
            ]
            if let warnAtPercent { payload["warning_percent"] = .number(NSDecimalNumber(decimal: warnAtPercent).doubleValue) }
            if let overBudget { payload["over_budget"] = .string(overBudget.rawValue) }
            let event = EventEnvelope(
                type: "tenant.budget_set", producer: actor, tenant: tenant, subjects: ["tenant": tenant], payload: .object(payload))
            try EventRecorder.append([(event, nil)], topology: topology, in: db)
            return (newMonthly, newTotal)
        }
    }

    public func setActive(tenant: String, _ active: Bool) throws {
        try record(active ? "tenant.activated" : "tenant.deactivated", tenant: tenant, payload: [:]) { db in
            try requireTenant(tenant, db)
            try db.query("UPDATE tenants SET active = $2 WHERE name = $1", [tenant, active])
        }
    }

    public func tenant(_ name: String) throws -> (record: TenantRecord, spend: [(period: String, reserved: Decimal)])? {
        try pool.withConnection { db in
            guard let record = try RegistryStore.tenant(name, in: db) else { return nil }
            return (record, try RegistryStore.spend(tenant: name, in: db))
        }
    }

    public func tenants() throws -> [TenantRecord] {
        try pool.withConnection { db in try RegistryStore.tenantNames(in: db).compactMap { try RegistryStore.tenant($0, in: db) } }
    }

    // MARK: agents

    /// Registers a new immutable version (creating the agent on its first version).
    public func registerVersion(
        tenant: String, agent: String, version: String, image: String?, command: String?, framework: Framework,
        defaults: ResourceOverrides, checkpoints: Bool, description: String? = nil, labels: [String: String] = [:]
    ) throws {
        try RegistryError.check(agent.isValidAgentName, field: "agent", "must be 1-100 letters, digits, '-', '_' or '.', got \"\(agent)\"")
        try RegistryError.check(version.isValidVersion, field: "version", "must be 1-64 letters, digits, '.', '_', '+' or '-', got \"\(version)\"")
        try RegistryError.check(image != nil || command != nil, field: "image", "an agent version needs an image or a command")
        if let gpus = defaults.gpus { try RegistryError.check((0...64).contains(gpus), field: "gpus", "must be between 0 and 64, got \(gpus)") }
        if let cpu = defaults.cpu { try RegistryError.check((1...1024).contains(cpu), field: "cpu", "must be between 1 and 1024, got \(cpu)") }
        if let memory = defaults.memoryGiB {
            try RegistryError.check((1...16384).contains(memory), field: "memory-gib", "must be between 1 and 16384, got \(memory)")
        }
        for key in labels.keys { try RegistryError.check(key.isValidLabelKey, field: "label", "key \"\(key)\" must be 1-63 of [A-Za-z0-9._/-]") }
        try record(
            "agent.version_registered", tenant: tenant, subjects: ["agent": "\(agent)@\(version)"],
            payload: [
                "agent": .string(agent), "version": .string(version), "image": image.map(JSONValue.string) ?? .null,
                "command": command.map(JSONValue.string) ?? .null, "framework": .string(framework.rawValue),
                "default_resources": try JSONValue(encoding: defaults), "checkpoints": .bool(checkpoints),
            ]
        ) { db in
            try requireTenant(tenant, db)
            if let flavor = defaults.flavor, try db.query("SELECT 1 FROM flavors WHERE name = $1", [flavor]).isEmpty {
                throw RegistryError(field: "flavor", "flavor \(flavor) does not exist")
            }
            try db.query(
                "INSERT INTO agents (tenant, name, description, labels) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING",
                [tenant, agent, description ?? "", try AdmissionStore.jsonText(labels)])
            if let description {
                try db.query("UPDATE agents SET description = $3 WHERE tenant = $1 AND name = $2", [tenant, agent, description])
            }
            let existing = try RegistryStore.versions(tenant: tenant, agent: agent, in: db)
            guard !existing.contains(where: { $0.version == version }) else {
                throw RegistryError(field: "version", "\(agent)@\(version) already exists; versions are immutable, register a new one")
            }
            try db.query(
                """
                INSERT INTO agent_versions (tenant, agent, version, image, command, framework, default_flavor, default_gpus,
                                            default_cpu, default_memory_gib, checkpoints, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                """,
                [
                    tenant, agent, version, image, command, framework.rawValue, defaults.flavor, defaults.gpus, defaults.cpu,
                    defaults.memoryGiB, checkpoints, actor,
                ])
        }
    }

    public func versions(tenant: String, agent: String) throws -> [AgentVersionRecord] {
        let versions = try pool.withConnection { try RegistryStore.versions(tenant: tenant, agent: agent, in: $0) }
        guard !versions.isEmpty else { throw RegistryError(field: "agent", "tenant \(tenant) has no agent named \(agent)") }
        return versions
    }

    public func agents(tenant: String) throws -> [(name: String, description: String, versions: Int, latest: String?)] {
        try pool.withConnection { db in
            try db.query(
                """
                SELECT a.name, a.description, count(v.version),
                       (SELECT v2.version FROM agent_versions v2 WHERE v2.tenant = a.tenant AND v2.agent = a.name
                        AND NOT v2.deprecated ORDER BY v2.seq DESC LIMIT 1)
                FROM agents a LEFT JOIN agent_versions v ON v.tenant = a.tenant AND v.agent = a.name
                WHERE a.tenant = $1 GROUP BY a.tenant, a.name, a.description ORDER BY a.name
                """, [tenant]
            ).map { (try $0.decode(0), try $0.decode(1), try $0.decode(2), try $0.decodeIfPresent(3, as: String.self)) }
        }
    }

    public func deprecate(tenant: String, agent: String, version: String) throws {
        try record("agent.version_deprecated", tenant: tenant, subjects: ["agent": "\(agent)@\(version)"], payload: [
            "agent": .string(agent), "version": .string(version),
        ]) { db in
            let updated = try db.query(
                "UPDATE agent_versions SET deprecated = true WHERE tenant = $1 AND agent = $2 AND version = $3",
                [tenant, agent, version])
            guard updated.rowsAffected == 1 else {
                throw RegistryError(field: "agent", "tenant \(tenant) has no agent version \(agent)@\(version)")
            }
            // A deprecated version is nobody's default any more: back to the newest current one.
            try db.query(
                "UPDATE agents SET default_version = NULL WHERE tenant = $1 AND name = $2 AND default_version = $3", [tenant, agent, version])
        }
    }

    /// Makes `version` the one jobs naming only the agent run (`agentctl agents rollback`), and
    /// returns the default it replaces. It must exist and not be deprecated.
    @discardableResult
    public func setDefaultVersion(tenant: String, agent: String, version: String) throws -> String? {
        var previous: String?
        try record("agent.default_set", tenant: tenant, subjects: ["agent": "\(agent)@\(version)"], payload: [
            "agent": .string(agent), "version": .string(version),
        ]) { db in
            let versions = try RegistryStore.versions(tenant: tenant, agent: agent, in: db)
            guard !versions.isEmpty else { throw RegistryError(field: "agent", "tenant \(tenant) has no agent named \(agent)") }
            guard let target = versions.first(where: { $0.version == version }) else {
                throw RegistryError(
                    field: "to", "agent \(agent) has no version \(version) (versions: \(versions.map(\.version).joined(separator: ", ")))")
            }
            guard !target.deprecated else {
                throw RegistryError(field: "to", "\(agent)@\(version) is deprecated: new jobs could not run it; register a new version instead")
            }
            let current = try db.query(
                "SELECT default_version FROM agents WHERE tenant = $1 AND name = $2 FOR UPDATE", [tenant, agent]
            ).first?.decodeIfPresent(0, as: String.self)
            previous = current ?? versions.last(where: { !$0.deprecated })?.version
            try db.query("UPDATE agents SET default_version = $3 WHERE tenant = $1 AND name = $2", [tenant, agent, version])
        }
        return previous
    }

    /// The version a job naming only the agent runs now.
    public func defaultVersion(tenant: String, agent: String) throws -> String? {
        try pool.withConnection { db in
            let set = try db.query("SELECT default_version FROM agents WHERE tenant = $1 AND name = $2", [tenant, agent])
                .first?.decodeIfPresent(0, as: String.self)
            return try set ?? RegistryStore.versions(tenant: tenant, agent: agent, in: db).last(where: { !$0.deprecated })?.version
        }
    }

    // MARK: helpers

    private func requireTenant(_ name: String, _ db: PostgresConnection) throws {
        guard try db.query("SELECT 1 FROM tenants WHERE name = $1", [name]).count == 1 else {
            throw RegistryError(field: "tenant", "tenant \(name) does not exist")
        }
    }

    private func checkBudgets(_ monthly: Decimal?, _ total: Decimal?) throws {
        if let monthly { try RegistryError.check(monthly >= 0, field: "monthly-budget", "must not be negative") }
        if let total { try RegistryError.check(total >= 0, field: "total-budget", "must not be negative") }
    }

    /// Runs `change` and records the event in one transaction.
    private func record(
        _ type: String, tenant: String, subjects: [String: String] = [:], payload: [String: JSONValue],
        _ change: (PostgresConnection) throws -> Void
    ) throws {
        var subjects = subjects
        subjects["tenant"] = tenant
        let event = EventEnvelope(type: type, producer: actor, tenant: tenant, subjects: subjects, payload: .object(payload))
        try EventRecorder.record([event], topology: topology, pool: pool, change)
    }
}

/// A registry change that was refused; nothing was changed.
public struct RegistryError: Error, CustomStringConvertible, Equatable {
    public let field: String
    public let reason: String

    public init(field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    static func check(_ condition: Bool, field: String, _ reason: @autoclosure () -> String) throws {
        if !condition { throw RegistryError(field: field, reason()) }
    }

    public var description: String { "\(field): \(reason)" }
}

extension String {
    /// Tenant, cohort and flavor names.
    var isValidName: Bool {
        guard let first = unicodeScalars.first, (1...63).contains(count), ("a"..."z").contains(first) else { return false }
        return unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    var isValidAgentName: Bool {
        (1...100).contains(count)
            && unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) }
    }

    var isValidVersion: Bool {
        (1...64).contains(count)
            && unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._+-".unicodeScalars.contains($0) }
    }

    var isValidLabelKey: Bool {
        (1...63).contains(count)
            && unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._/-".unicodeScalars.contains($0) }
    }
}
