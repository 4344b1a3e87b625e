import AgentCore
import Foundation
import Postgres

/// SQL for tenants and agents (tables of the admission slice).
enum RegistryStore {
    static func versions(tenant: String, agent: String, in db: PostgresConnection) throws -> [AgentVersionRecord] {
        try versions(of: [(tenant, agent)], in: db)
    }

    /// Every version of each (tenant, agent) pair, in registration order, in one statement.
    static func versions(of agents: [(tenant: String, agent: String)], in db: PostgresConnection) throws -> [AgentVersionRecord] {
        let statement = versionsStatement(of: agents)
        return try versionRecords(db.query(statement.sql, statement.parameters))
    }

    /// Every version of these agents, in registration order (decode with `versionRecords`).
    static func versionsStatement(of agents: [(tenant: String, agent: String)]) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT v.tenant, v.agent, v.version, v.image, v.command, v.framework, v.default_flavor, v.default_gpus,
                   v.default_cpu, v.default_memory_gib, v.checkpoints, v.deprecated, v.created_by, v.created_at
            FROM agent_versions v JOIN (SELECT DISTINCT t, a FROM unnest($1::text[], $2::text[]) AS u(t, a)) u
                 ON v.tenant = u.t AND v.agent = u.a
            ORDER BY v.seq
            """, [agents.map { $0.tenant }, agents.map { $0.agent }])
    }

    static func versionRecords(_ result: PostgresResult) throws -> [AgentVersionRecord] {
        try result.map { row in
            AgentVersionRecord(
                tenant: try row.decode(0), agent: try row.decode(1), version: try row.decode(2),
                image: try row.decodeIfPresent(3, as: String.self), command: try row.decodeIfPresent(4, as: String.self),
                framework: Framework(rawValue: try row.decode(5)) ?? .custom,
                defaultResources: ResourceOverrides(
                    flavor: try row.decodeIfPresent(6, as: String.self), gpus: try row.decodeIfPresent(7, as: Int.self),
                    cpu: try row.decodeIfPresent(8, as: Int.self), memoryGiB: try row.decodeIfPresent(9, as: Int.self)),
                checkpoints: try row.decode(10), deprecated: try row.decode(11), createdBy: try row.decode(12),
                createdAt: try row.decode(13))
        }
    }

    static func tenant(_ name: String, in db: PostgresConnection) throws -> TenantRecord? {
        let rows = try db.query(
            """
            SELECT name, weight, cohort, monthly_budget, total_budget, active,
                   coalesce((SELECT json_object_agg(q.flavor, json_build_object('nominal', q.nominal,
                                                   'borrowing_limit', q.borrowing_limit))
                             FROM tenant_quotas q WHERE q.tenant = t.name), '{}')::text
            FROM tenants t WHERE name = $1
            """, [name])
        guard let row = rows.first else { return nil }
        return TenantRecord(
            name: try row.decode(0), weight: try row.decode(1), cohort: try row.decodeIfPresent(2, as: String.self),
            monthlyBudget: try row.decodeIfPresent(3, as: Decimal.self), totalBudget: try row.decodeIfPresent(4, as: Decimal.self),
            active: try row.decode(5),
            quotas: try AdmissionStore.quotas(row.decode(6, as: String.self)))
    }

    static func tenantNames(in db: PostgresConnection) throws -> [String] {
        try db.query("SELECT name FROM tenants ORDER BY name").map { try $0.decode(0, as: String.self) }
    }

    static func spend(tenant: String, in db: PostgresConnection) throws -> [(period: String, reserved: Decimal)] {
        try db.query("SELECT period, reserved FROM tenant_spend WHERE tenant = $1 ORDER BY period", [tenant]).map {
            (try $0.decode(0, as: String.self), try $0.decode(1, as: Decimal.self))
        }
    }
}
