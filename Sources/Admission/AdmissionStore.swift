import AgentCore
import CostAccounting
import Foundation
import Postgres

/// The admission worker's SQL, set-based: a batch of requests costs the same handful of
/// statements whatever its size (no round trip per request). Runs in the consumer runtime's
/// transaction.
enum AdmissionStore {
    /// A request's identity: idempotency keys are scoped by the tenant named in the request.
    struct TenantKey: Hashable {
        var tenant: String
        var key: String
    }

    /// What a decision needs to know about a tenant, read once per batch. Reserved: committed
    /// money, i.e. metered cost plus what admitted jobs still hold back (their projected cost less
    /// what the cost accountant metered in its place).
    struct TenantState {
        var record: TenantRecord
        var cohortNominal: [String: Int]
        var reservedThisMonth: Decimal
        var reservedTotal: Decimal
    }

    /// A batch's first round trip: its keys locked, then the decisions already made for any of them
    /// (a repeated request gets the first one). Pipelined, the read still runs after the lock is
    /// held: the server runs a pipeline's statements one after another, each with a new snapshot.
    static func lockAndReadDecisions(_ keys: [TenantKey], in db: PostgresConnection) throws -> [TenantKey: AdmissionReply] {
        let results = try db.pipeline([lockKeysStatement(keys), existingDecisionsStatement(keys)])
        return try decisions(results[1])
    }

    /// Serializes decisions on these keys across replicas until commit. Locks are taken in hash
    /// order, so two replicas with overlapping batches cannot deadlock on them.
    static func lockKeysStatement(_ keys: [TenantKey]) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT pg_advisory_xact_lock(h) FROM (
                SELECT DISTINCT hashtextextended(t || '/' || k, 7) AS h FROM unnest($1::text[], $2::text[]) AS u(t, k) ORDER BY 1
            ) locks
            """, [keys.map { $0.tenant }, keys.map { $0.key }])
    }

    static func existingDecisionsStatement(_ keys: [TenantKey]) -> PostgresStatement {
        PostgresStatement(
            """
            SELECT a.tenant, a.idempotency_key, a.decision, a.job_id::text, a.priority_class, a.projected_cost, a.reasons::text,
                   a.decided_at
            FROM admission_requests a JOIN unnest($1::text[], $2::text[]) AS u(t, k) ON a.tenant = u.t AND a.idempotency_key = u.k
            """, [keys.map { $0.tenant }, keys.map { $0.key }])
    }

    static func decisions(_ rows: PostgresResult) throws -> [TenantKey: AdmissionReply] {
        var decisions: [TenantKey: AdmissionReply] = [:]
        for row in rows {
            let key = TenantKey(tenant: try row.decode(0), key: try row.decode(1))
            decisions[key] = AdmissionReply(
                idempotencyKey: key.key, decision: AdmissionReply.Decision(rawValue: try row.decode(2)) ?? .rejected,
                jobID: try row.decodeIfPresent(3, as: String.self), tenant: key.tenant,
                priorityClass: try row.decodeIfPresent(4, as: String.self),
                projectedCost: try row.decodeIfPresent(5, as: Decimal.self)?.moneyText,
                reasons: try JSONCoding.decoder.decode([Rejection].self, from: Data(try row.decode(6, as: String.self).utf8)),
                duplicate: true, decidedAt: try row.decode(7))
        }
        return decisions
    }

    /// What deciding a batch's new requests reads, beyond the catalog.
    struct BatchContext {
        var tenants: [String: TenantState] = [:]
        /// Every version of each (tenant, agent), in registration order.
        var versions: [TenantKey: [AgentVersionRecord]] = [:]
        /// The default versions set for agents (`agentctl agents rollback`); absent: none set.
        var defaults: [TenantKey: String] = [:]
        /// Of the job ids named as dependencies, those that exist, with their tenant.
        var dependencies: [UUID: String] = [:]
    }

    /// A batch's second round trip: the tenants locked (in name order, one lock order on every
    /// replica, so concurrent decisions on one tenant's budget serialize) and then read; the
    /// versions of `agents`, the defaults of `defaultsOf`, and the jobs `dependencies` names.
    /// The tenants are locked and read in separate statements: under READ COMMITTED a statement's
    /// snapshot predates its lock wait, so reading spend in the locking statement could miss what
    /// the replica that held the lock just reserved.
    static func context(
        tenants names: Set<String>, agents: Set<TenantKey>, defaultsOf: Set<TenantKey>, dependencies ids: Set<UUID>, now: Date,
        in db: PostgresConnection
    ) throws -> BatchContext {
        var statements: [PostgresStatement] = []
        func add(_ statement: PostgresStatement, when wanted: Bool) -> Int? {
            guard wanted else { return nil }
            statements.append(statement)
            return statements.count - 1
        }
        let names = names.sorted()
        _ = add(PostgresStatement("SELECT 1 FROM tenants WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE", [names]), when: !names.isEmpty)
        let tenantRows = add(tenantsStatement(names, now: now), when: !names.isEmpty)
        let agents = Array(agents)
        let versionRows = add(RegistryStore.versionsStatement(of: agents.map { ($0.tenant, $0.key) }), when: !agents.isEmpty)
        let defaultsOf = Array(defaultsOf)
        let defaultRows = add(
            PostgresStatement(
                """
                SELECT a.tenant, a.name, a.default_version FROM agents a
                JOIN unnest($1::text[], $2::text[]) AS u(t, n) ON a.tenant = u.t AND a.name = u.n
                WHERE a.default_version IS NOT NULL
                """, [defaultsOf.map { $0.tenant }, defaultsOf.map { $0.key }]), when: !defaultsOf.isEmpty)
        let dependencyRows = add(
            PostgresStatement("SELECT id, tenant FROM jobs WHERE id = ANY($1::uuid[])", [Array(ids)]), when: !ids.isEmpty)
        guard !statements.isEmpty else { return BatchContext() }

        let results = try db.pipeline(statements)
        var context = BatchContext()
        if let tenantRows { context.tenants = try tenants(results[tenantRows]) }
        if let versionRows {
            for record in try RegistryStore.versionRecords(results[versionRows]) {
                context.versions[TenantKey(tenant: record.tenant, key: record.agent), default: []].append(record)
            }
        }
        if let defaultRows {
            for row in results[defaultRows] {
                context.defaults[TenantKey(tenant: try row.decode(0), key: try row.decode(1))] = try row.decode(2, as: String.self)
            }
        }
        if let dependencyRows {
            for row in results[dependencyRows] {
                context.dependencies[try row.decode(0, as: UUID.self)] = try row.decode(1, as: String.self)
            }
        }
        return context
    }

    /// The tenants with their quotas, their cohorts' quotas and their reserved spend.
    static func tenantsStatement(_ names: [String], now: Date) -> PostgresStatement {
        PostgresStatement(
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
                   -- committed: what admitted jobs reserved, less what the cost accountant released of it, plus
                   -- what it metered (cost_spend, read only)
                   coalesce((SELECT reserved FROM tenant_spend WHERE tenant = t.name AND period = $2), 0)
                     + coalesce((SELECT metered - released FROM cost_spend WHERE tenant = t.name AND period = $2), 0),
                   coalesce((SELECT reserved FROM tenant_spend WHERE tenant = t.name AND period = 'total'), 0)
                     + coalesce((SELECT metered - released FROM cost_spend WHERE tenant = t.name AND period = 'total'), 0)
            FROM tenants t WHERE t.name = ANY($1::text[])
            """, [names, budgetPeriod(now)])
    }

    static func tenants(_ rows: PostgresResult) throws -> [String: TenantState] {
        var tenants: [String: TenantState] = [:]
        for row in rows {
            let record = TenantRecord(
                name: try row.decode(0), weight: try row.decode(1), cohort: try row.decodeIfPresent(2, as: String.self),
                monthlyBudget: try row.decodeIfPresent(3, as: Decimal.self), totalBudget: try row.decodeIfPresent(4, as: Decimal.self),
                active: try row.decode(5),
                quotas: try quotas(row.decode(6, as: String.self)))
            tenants[record.name] = TenantState(
                record: record,
                cohortNominal: try counts(row.decode(7, as: String.self)),
                reservedThisMonth: try row.decode(8), reservedTotal: try row.decode(9))
        }
        return tenants
    }

    /// A tenant's quotas as the tenants statements write them (`{"flavor": {"nominal": n,
    /// "borrowing_limit": m}}`), through the byte-level parser: Foundation's `JSONDecoder` here was
    /// 4% of admission's CPU (docs/benchmarks.md, #40).
    static func quotas(_ text: String) throws -> [String: Quota] {
        guard case .object(let members) = try JSONValue.parse(Data(text.utf8)) else { throw ColumnShapeError(column: "quotas", text: text) }
        var quotas: [String: Quota] = [:]
        for (flavor, value) in members {
            guard let nominal = value["nominal"]?.integerValue, let borrowing = value["borrowing_limit"]?.integerValue else {
                throw ColumnShapeError(column: "quotas", text: text)
            }
            quotas[flavor] = Quota(nominal: nominal, borrowingLimit: borrowing)
        }
        return quotas
    }

    /// `{"flavor": n}`, as `quotas(_:)`.
    static func counts(_ text: String) throws -> [String: Int] {
        guard case .object(let members) = try JSONValue.parse(Data(text.utf8)) else { throw ColumnShapeError(column: "cohort nominal", text: text) }
        var counts: [String: Int] = [:]
        for (flavor, value) in members {
            guard let count = value.integerValue else { throw ColumnShapeError(column: "cohort nominal", text: text) }
            counts[flavor] = count
        }
        return counts
    }

    struct ColumnShapeError: Error, CustomStringConvertible {
        let column: String
        let text: String
        var description: String { "unexpected \(column) JSON from the database: \(text.prefix(200))" }
    }

    /// A batch's decisions, written in one round trip (at most four statements, whatever the
    /// batch's size).
    struct Decisions {
        var admitted: [(job: AdmittedJob, key: String, submittedAt: Date)] = []
        var rejected: [(key: TenantKey, priorityClass: PriorityClass?, reasons: [Rejection])] = []
    }

    static func record(_ decisions: Decisions, now: Date, in db: PostgresConnection) throws {
        var statements = decisions.admitted.isEmpty ? [] : try admittedStatements(decisions.admitted, now: now)
        if !decisions.rejected.isEmpty {
            statements.append(
                PostgresStatement(
                    """
                    INSERT INTO admission_requests (idempotency_key, tenant, decision, priority_class, reasons, decided_at)
                    SELECT k, t, 'rejected', c, r::jsonb, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(k, t, c, r)
                    """,
                    [
                        decisions.rejected.map { $0.key.key }, decisions.rejected.map { $0.key.tenant },
                        PostgresNullableArray(decisions.rejected.map { $0.priorityClass?.rawValue }),
                        try decisions.rejected.map { try jsonText($0.reasons) }, now,
                    ]))
        }
        try db.pipeline(statements)
    }

    /// The jobs, the tenants' reserved spend, and the admitted requests' decisions.
    private static func admittedStatements(_ admitted: [(job: AdmittedJob, key: String, submittedAt: Date)], now: Date) throws
        -> [PostgresStatement]
    {
        let jobs = admitted.map { $0.job }
        let specs = jobs.map { $0.spec }
        let insertJobs = PostgresStatement(
            """
            INSERT INTO jobs (id, tenant, agent, agent_version, name, priority_class, replicas, flavor, gpus, cpu,
                              memory_gib, max_runtime_seconds, checkpoint_interval_seconds, retry, curriculum,
                              depends_on, labels, idempotency_key, projected_cost, submitted_at, admitted_at)
            SELECT id, tenant, agent, version, name, class, replicas, flavor, gpus, cpu, memory, runtime, checkpoint,
                   retry::jsonb, curriculum::jsonb, depends_on::uuid[], labels::jsonb, key, cost, submitted, $21
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[],
                        $9::int[], $10::int[], $11::int[], $12::int[], $13::int[], $14::text[], $15::text[], $16::text[],
                        $17::text[], $18::text[], $19::numeric[], $20::timestamptz[])
                 AS u(id, tenant, agent, version, name, class, replicas, flavor, gpus, cpu, memory, runtime, checkpoint,
                      retry, curriculum, depends_on, labels, key, cost, submitted)
            """,
            [
                jobs.map { $0.id }, specs.map { $0.tenant }, specs.map { $0.agent }, specs.map { $0.agentVersion },
                PostgresNullableArray(specs.map { $0.name }), specs.map { $0.priorityClass.rawValue }, specs.map { $0.replicas },
                jobs.map { $0.resources.flavor }, jobs.map { $0.resources.gpus }, jobs.map { $0.resources.cpu }, jobs.map { $0.resources.memoryGiB },
                specs.map { $0.maxRuntimeSeconds }, PostgresNullableArray(specs.map { $0.checkpointIntervalSeconds }),
                try specs.map { try retryText($0.retry) }, try specs.map { $0.curriculum.isEmpty ? "[]" : try jsonText($0.curriculum) },
                specs.map { $0.dependsOn.postgresText }, specs.map { labelsText($0.labels) }, admitted.map { $0.key },
                jobs.map { $0.projectedCost }, admitted.map { $0.submittedAt }, now,
            ])
        // One upsert per tenant and period, whatever the number of jobs.
        var spend: [String: Decimal] = [:]
        for job in jobs { spend[job.spec.tenant, default: 0] += job.projectedCost }
        let tenants = spend.keys.sorted()
        let reserve = PostgresStatement(
            """
            INSERT INTO tenant_spend (tenant, period, reserved)
            SELECT t, p, r FROM unnest($1::text[], $2::numeric[]) AS u(t, r), unnest(ARRAY[$3::text, 'total']) AS periods(p)
            ON CONFLICT (tenant, period) DO UPDATE SET reserved = tenant_spend.reserved + EXCLUDED.reserved
            """, [tenants, tenants.map { spend[$0]! }, budgetPeriod(now)])
        let decide = PostgresStatement(
            """
            INSERT INTO admission_requests (idempotency_key, tenant, decision, job_id, priority_class, projected_cost, decided_at)
            SELECT k, t, 'admitted', j, c, p, $6 FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::numeric[])
                AS u(k, t, j, c, p)
            """,
            [admitted.map { $0.key }, specs.map { $0.tenant }, jobs.map { $0.id }, specs.map { $0.priorityClass.rawValue }, jobs.map { $0.projectedCost }, now])
        return [insertJobs, reserve, decide]
    }

    /// `2026-11`: budgets reset each calendar month (UTC). The cost accountant releases a job's
    /// reservation in this same period, so both take it from one place.
    static func budgetPeriod(_ date: Date) -> String { Metering.monthText(date) }

    static func jsonText(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self)
    }

    // Foundation's JSONEncoder was 6% of admission's CPU under make bench, for the retry policy and
    // labels of every job. Nearly every job keeps the default policy: its text is written once.
    private static let defaultRetryText = try! jsonText(RetryPolicy())

    static func retryText(_ retry: RetryPolicy) throws -> String {
        retry == RetryPolicy() ? defaultRetryText : try jsonText(retry)
    }

    /// Labels (a flat object of strings) through the byte-level JSON writer.
    static func labelsText(_ labels: [String: String]) -> String {
        labels.isEmpty ? "{}" : String(decoding: JSONValue.object(labels.mapValues { .string($0) }).serialized(), as: UTF8.self)
    }
}
