import AgentCore
import Foundation
import Postgres

/// The admission worker's SQL: reading what a decision needs and recording the decision. Runs in
/// the consumer runtime's transaction.
enum AdmissionStore {
    /// Serializes decisions on one tenant's idempotency key across replicas, for this transaction.
    static func lockKey(_ key: String, tenant: String, in db: PostgresConnection) throws {
        try db.query("SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 7))", [tenant, key])
    }

    static func existingDecision(_ key: String, tenant: String, in db: PostgresConnection) throws -> AdmissionReply? {
        let rows = try db.query(
            """
            SELECT decision, job_id::text, tenant, priority_class, projected_cost, reasons::text, decided_at
            FROM admission_requests WHERE tenant = $1 AND idempotency_key = $2
            """, [tenant, key])
        guard let row = rows.first else { return nil }
        return AdmissionReply(
            idempotencyKey: key, decision: AdmissionReply.Decision(rawValue: try row.decode(0)) ?? .rejected,
            jobID: try row.decodeIfPresent(1, as: String.self), tenant: try row.decodeIfPresent(2, as: String.self),
            priorityClass: try row.decodeIfPresent(3, as: String.self),
            projectedCost: try row.decodeIfPresent(4, as: Decimal.self)?.moneyText,
            reasons: try JSONCoding.decoder.decode([Rejection].self, from: Data(try row.decode(5, as: String.self).utf8)),
            duplicate: true, decidedAt: try row.decode(6))
    }

    /// The tenant (locked until commit, so concurrent decisions on one tenant's budget serialize),
    /// its quotas, its cohort's quotas and its reserved spend; the agent's versions; dependencies.
    static func context(for spec: JobSpec, catalog: Catalog, now: Date, in db: PostgresConnection) throws -> AdmissionContext {
        var context = AdmissionContext(tenant: nil, agentVersions: [], catalog: catalog)
        // Lock first, read after, in separate statements: under READ COMMITTED a statement's
        // snapshot predates the lock wait, so reading spend in the locking statement could miss
        // what the replica that held the lock just reserved.
        try db.query("SELECT 1 FROM tenants WHERE name = $1 FOR UPDATE", [spec.tenant])
        let tenantRows = try db.query(
            """
            SELECT t.name, t.weight, t.cohort, t.monthly_budget, t.total_budget, t.active,
                   coalesce((SELECT json_object_agg(q.flavor, json_build_object('nominal', q.nominal,
                                                   'borrowing_limit', q.borrowing_limit))
                             FROM tenant_quotas q WHERE q.tenant = t.name), '{}')::text,
                   coalesce((SELECT json_object_agg(c.flavor, c.nominal) FROM (
                                 SELECT q.flavor, sum(q.nominal)::bigint AS nominal
                                 FROM tenant_quotas q JOIN tenants peer ON peer.name = q.tenant
                                 WHERE peer.cohort = t.cohort AND peer.name <> t.name AND peer.active
                                 GROUP BY q.flavor) c), '{}')::text,
                   coalesce((SELECT reserved FROM tenant_spend WHERE tenant = t.name AND period = $2), 0),
                   coalesce((SELECT reserved FROM tenant_spend WHERE tenant = t.name AND period = 'total'), 0)
            FROM tenants t WHERE t.name = $1
            """, [spec.tenant, budgetPeriod(now)])
        if let row = tenantRows.first {
            context.tenant = TenantRecord(
                name: try row.decode(0), weight: try row.decode(1), cohort: try row.decodeIfPresent(2, as: String.self),
                monthlyBudget: try row.decodeIfPresent(3, as: Decimal.self), totalBudget: try row.decodeIfPresent(4, as: Decimal.self),
                active: try row.decode(5),
                quotas: try JSONCoding.decoder.decode([String: Quota].self, from: Data(try row.decode(6, as: String.self).utf8)))
            context.cohortNominal = try JSONCoding.decoder.decode([String: Int].self, from: Data(try row.decode(7, as: String.self).utf8))
            context.reservedThisMonth = try row.decode(8)
            context.reservedTotal = try row.decode(9)
            context.agentVersions = try RegistryStore.versions(tenant: spec.tenant, agent: spec.agent, in: db)
        }
        if !spec.dependsOn.isEmpty {
            for row in try db.query("SELECT id, tenant FROM jobs WHERE id = ANY($1::uuid[])", [spec.dependsOn]) {
                context.dependencies[try row.decode(0, as: UUID.self)] = try row.decode(1, as: String.self)
            }
        }
        return context
    }

    static func recordAdmitted(_ job: AdmittedJob, key: String, submittedAt: Date, now: Date, in db: PostgresConnection) throws {
        let spec = job.spec
        try db.query(
            """
            INSERT INTO jobs (id, tenant, agent, agent_version, name, priority_class, replicas, flavor, gpus, cpu,
                              memory_gib, max_runtime_seconds, checkpoint_interval_seconds, retry, curriculum,
                              depends_on, labels, idempotency_key, projected_cost, submitted_at, admitted_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::jsonb, $16::uuid[],
                    $17::jsonb, $18, $19, $20, $21)
            """,
            [
                job.id, spec.tenant, spec.agent, spec.agentVersion, spec.name, spec.priorityClass.rawValue, spec.replicas,
                job.resources.flavor, job.resources.gpus, job.resources.cpu, job.resources.memoryGiB, spec.maxRuntimeSeconds,
                spec.checkpointIntervalSeconds, try jsonText(spec.retry), try jsonText(spec.curriculum), spec.dependsOn,
                try jsonText(spec.labels), key, job.projectedCost, submittedAt, now,
            ])
        try db.query(
            """
            INSERT INTO tenant_spend (tenant, period, reserved) VALUES ($1, $2, $3), ($1, 'total', $3)
            ON CONFLICT (tenant, period) DO UPDATE SET reserved = tenant_spend.reserved + EXCLUDED.reserved
            """, [spec.tenant, budgetPeriod(now), job.projectedCost])
        try db.query(
            """
            INSERT INTO admission_requests (idempotency_key, tenant, decision, job_id, priority_class, projected_cost, decided_at)
            VALUES ($1, $2, 'admitted', $3, $4, $5, $6)
            """, [key, spec.tenant, job.id, spec.priorityClass.rawValue, job.projectedCost, now])
    }

    static func recordRejected(
        key: String, tenant: String, priorityClass: PriorityClass?, reasons: [Rejection], now: Date, in db: PostgresConnection
    ) throws {
        try db.query(
            """
            INSERT INTO admission_requests (idempotency_key, tenant, decision, priority_class, reasons, decided_at)
            VALUES ($1, $2, 'rejected', $3, $4::jsonb, $5)
            """, [key, tenant, priorityClass?.rawValue, try jsonText(reasons), now])
    }

    /// `2026-11`: budgets reset each calendar month (UTC).
    static func budgetPeriod(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: date)
        return String(format: "%04d-%02d", parts.year!, parts.month!)
    }

    static func jsonText(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self)
    }
}
