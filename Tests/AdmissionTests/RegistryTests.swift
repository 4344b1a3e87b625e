import Admission
import AgentCore
import AgentTestSupport
import Foundation
import Postgres
import Testing

@Suite("Registry: tenants, quotas, agents, immutable versions")
struct RegistryTests {
    @Test("Bad input is refused with the field and the reason, and changes nothing")
    func refusals() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let registry = world.registry
        let eventsBefore = try world.env.count("SELECT count(*) FROM events")
        #expect(throws: RegistryError(field: "name", "tenant acme already exists")) { try registry.createTenant("acme") }
        #expect(throws: RegistryError(field: "weight", "must be greater than 0 and at most 1000, got 0")) { try registry.createTenant("zeta", weight: 0) }
        #expect(throws: RegistryError(field: "tenant", "tenant nobody does not exist")) {
            try registry.setQuota(tenant: "nobody", flavor: "gpu-v100", nominal: 1)
        }
        let flavor = #expect(throws: RegistryError.self) { try registry.setQuota(tenant: "acme", flavor: "gpu-a100", nominal: 1) }
        #expect(flavor?.reason.hasPrefix("flavor gpu-a100 does not exist") == true)
        #expect(throws: RegistryError(field: "version", "resnet-trainer@1.2.0 already exists; versions are immutable, register a new one")) {
            try registry.registerVersion(
                tenant: "acme", agent: "resnet-trainer", version: "1.2.0", image: "other", command: nil, framework: .pytorch,
                defaults: ResourceOverrides(), checkpoints: false)
        }
        #expect(try world.env.count("SELECT count(*) FROM events") == eventsBefore, "a refused change records no event")
        #expect(try world.env.count("SELECT count(*) FROM tenants WHERE name = 'zeta'") == 0)
    }

    @Test("A budget change sets what it names and keeps the rest; bad values are refused")
    func budgetChanges() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let registry = world.registry
        func budgets() throws -> String {
            try world.env.pool.withConnection {
                let row = try $0.query("SELECT monthly_budget::text, total_budget::text, budget_warning_percent::text, over_budget FROM tenants WHERE name = 'acme'")[0]
                return [0, 1, 2, 3].map { (try? row.decodeIfPresent($0, as: String.self)) ?? nil }.map { $0 ?? "-" }.joined(separator: " ")
            }
        }
        #expect(try budgets() == "20000.00 100000.00 80.00 stop")
        let kept = try registry.changeBudget(tenant: "acme", monthly: .amount(750), total: .keep, warnAtPercent: 50, overBudget: .downgrade)
        #expect(kept.monthly == 750 && kept.total == 100_000)
        #expect(try budgets() == "750.00 100000.00 50.00 downgrade")
        _ = try registry.changeBudget(tenant: "acme", monthly: .keep, total: .unlimited)
        #expect(try budgets() == "750.00 - 50.00 downgrade")
        let last = try world.env.pool.withConnection {
            try $0.query("SELECT payload::text FROM events WHERE type = 'tenant.budget_set' ORDER BY seq DESC LIMIT 1")[0].decode(0, as: String.self)
        }
        #expect(try JSONValue.parse(Data(last.utf8)) == ["monthly_budget": "750.00", "total_budget": nil])
        #expect(throws: RegistryError(field: "warn-at", "must be a percentage above 0 and at most 100, got 120")) {
            _ = try registry.changeBudget(tenant: "acme", monthly: .keep, total: .keep, warnAtPercent: 120)
        }
        #expect(throws: RegistryError(field: "tenant", "tenant nobody does not exist")) {
            _ = try registry.changeBudget(tenant: "nobody", monthly: .amount(1), total: .keep)
        }
        #expect(try budgets() == "750.00 - 50.00 downgrade")
    }

    @Test("A tenant or flavor that jobs name cannot be deleted or renamed; one that no job names can")
    func registryRowsInUse() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        try world.registry.createTenant("usedco")
        try world.registry.createTenant("idleco")
        try world.env.pool.withConnection { db in
            try db.query(
                """
                INSERT INTO flavors (name, quota_unit, price_per_unit_hour) VALUES ('gpu-used', 'gpu', 1), ('gpu-idle', 'gpu', 1)
                """)
            try db.query(
                """
                INSERT INTO jobs (id, tenant, agent, agent_version, priority_class, replicas, flavor, gpus, cpu, memory_gib,
                                  max_runtime_seconds, retry, idempotency_key, projected_cost, submitted_at)
                VALUES ($1, 'usedco', 'a', '1', 'normal', 1, 'gpu-used', 1, 1, 1, 60, '{}', 'k', 0, now())
                """, [UUID()])
            for statement in [
                "DELETE FROM tenants WHERE name = 'usedco'", "UPDATE tenants SET name = 'renamed' WHERE name = 'usedco'",
                "DELETE FROM flavors WHERE name = 'gpu-used'", "UPDATE flavors SET name = 'renamed' WHERE name = 'gpu-used'",
            ] {
                let refused = #expect(throws: PostgresError.self, "\(statement)") { try db.query(statement) }
                #expect(refused?.message.contains("has jobs") == true, "\(statement): \(refused?.message ?? "")")
            }
            try db.query("UPDATE tenants SET name = name, weight = 3 WHERE name = 'usedco'")
            try db.query("DELETE FROM flavors WHERE name = 'gpu-idle'")
            try db.query("DELETE FROM tenants WHERE name = 'idleco'")
            let left = try db.query("SELECT name FROM tenants WHERE name IN ('usedco', 'idleco')").map { try $0.decode(0, as: String.self) }
            #expect(left == ["usedco"])
            #expect(try db.query("SELECT weight::int FROM tenants WHERE name = 'usedco'")[0].decode(0, as: Int.self) == 3)
        }
    }

    @Test("A registered version cannot be edited or deleted in the database; only deprecated changes")
    func versionsAreImmutable() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        try world.env.pool.withConnection { db in
            let edit = #expect(throws: PostgresError.self) {
                try db.query("UPDATE agent_versions SET image = 'evil' WHERE agent = 'resnet-trainer' AND version = '1.2.0'")
            }
            #expect(edit?.message.contains("immutable") == true)
            #expect(throws: PostgresError.self) { try db.query("DELETE FROM agent_versions") }
        }
        try world.registry.deprecate(tenant: "acme", agent: "resnet-trainer", version: "1.2.0")
        let versions = try world.registry.versions(tenant: "acme", agent: "resnet-trainer")
        #expect(versions.map(\.deprecated) == [true, true])
        #expect(versions.map(\.version) == ["1.0.0", "1.2.0"])
    }

    @Test("Each registry change is an event in the log")
    func changesAreEvents() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let types = try world.env.pool.withConnection { db in
            try db.query("SELECT type FROM events WHERE tenant = 'globex' ORDER BY seq").map { try $0.decode(0, as: String.self) }
        }
        #expect(types == ["tenant.created", "tenant.quota_set", "tenant.quota_set", "agent.version_registered", "agent.version_registered"])
    }
}
