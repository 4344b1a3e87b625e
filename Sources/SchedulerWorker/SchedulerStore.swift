import AgentCore
import Foundation
import Postgres
import Scheduling

/// The scheduler's SQL: what a round reads, and how its decisions are written.
enum SchedulerStore {
    /// Channel the decision loop LISTENs on: new pending work, node changes, freed capacity.
    static let wakeChannel = "agentmgr_scheduler"

    static func wake(_ db: PostgresConnection) throws {
        try db.query(wakeStatement.sql, wakeStatement.parameters)
    }

    static let wakeStatement = PostgresStatement("SELECT pg_notify($1, '')", [wakeChannel])

    /// A pending job as the scheduler keeps it, with what it last told about it.
    struct PendingRow {
        var job: PendingJob
        var reasonCode: String?
        var reasonMessage: String?
        var queuePosition: Int?
        /// Jobs that must finish successfully first.
        var dependsOn: [UUID] = []
        /// 0, or the attempt a requeue started (job.scheduled carries it to the node agents).
        var attempt = 0
    }

    /// New pending jobs (nil: none).
    static func insertPending(_ jobs: [AdmittedJob]) -> PostgresStatement? {
        guard !jobs.isEmpty else { return nil }
        return PostgresStatement(
            """
            INSERT INTO sched_jobs (job_id, tenant, priority_class, flavor, gpus, cpu, memory_gib, replicas, same_zone,
                                    submitted_at, max_runtime_seconds, depends_on, retry, over_budget)
            SELECT id, t, c, f, g, cpu, m, r, z, s, mr, d::uuid[], coalesce(nullif(rp, ''), $14)::jsonb,
                   -- a tenant downgraded for its budget: its new jobs are downgraded too
                   EXISTS (SELECT 1 FROM sched_budget_holds h WHERE h.tenant = t AND h.held AND h.policy = 'downgrade')
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::int[], $8::int[],
                        $9::bool[], $10::timestamptz[], $11::int[], $12::text[], $13::text[])
                 AS u(id, t, c, f, g, cpu, m, r, z, s, mr, d, rp)
            ON CONFLICT (job_id) DO NOTHING
            """,
            [
                jobs.map { $0.jobID }, jobs.map { $0.tenant }, jobs.map { $0.priorityClass }, jobs.map { $0.resources.flavor },
                jobs.map { $0.resources.gpus }, jobs.map { $0.resources.cpu }, jobs.map { $0.resources.memoryGiB }, jobs.map { $0.replicas },
                jobs.map { $0.sameZone }, jobs.map { $0.submittedAt }, jobs.map { $0.maxRuntimeSeconds }, jobs.map { $0.dependsOn.postgresText },
                jobs.map { $0.retryText }, RetryRule.defaultJSON,
            ])
    }

    // A job's open allocations are found by the primary key (its first column is the job), with
    // a test of `released_at` the partial index of open allocations cannot serve. With `released_at
    // IS NULL` the planner may use that index, and when ANALYZE last ran while nothing was open
    // (between bursts of work) it thinks the index empty and scans all of it per call, O(running
    // jobs) (issue 5; migration 0019).

    /// Closes the open allocations of `jobIDs`; returns the job id of each allocation closed.
    static func releaseAllocations(of jobIDs: [UUID], at now: Date, in db: PostgresConnection) throws -> [UUID] {
        try db.query(
            """
            UPDATE allocations SET released_at = $2
            WHERE job_id = ANY($1::uuid[]) AND coalesce(released_at, 'infinity') = 'infinity'
            RETURNING job_id
            """, [jobIDs, now]
        ).map { try $0.decode(0, as: UUID.self) }
    }

    /// The nodes of a job's open allocations, by replica.
    static func openNodes(of jobID: UUID, in db: PostgresConnection) throws -> [String] {
        try db.query(
            "SELECT node_id FROM allocations WHERE job_id = $1 AND coalesce(released_at, 'infinity') = 'infinity' ORDER BY replica",
            [jobID]
        ).map { try $0.decode(0, as: String.self) }
    }

    /// What a round reads first, in one round trip (`PostgresConnection.pipeline`), in this order:
    /// the leader row, locked (is the epoch still ours?); the node registry's version (moved by
    /// trigger on every change to `nodes`); the pending jobs; the jobs released since the leader
    /// last looked (the rows go with this transaction's commit); the budget holds. Pending jobs
    /// are read before the released ones: a job requeued (released and pending again) between the
    /// two reads is then seen released but not yet pending, never both running and pending in one
    /// round.
    struct RoundStart {
        var epoch: Int64
        var nodesVersion: Int64
        var pending: [PendingRow]
        var released: [UUID]
        var stopHolds: [String: String]

        static let statements = [
            PostgresStatement("SELECT epoch FROM scheduler_leader FOR UPDATE"), PostgresStatement("SELECT nodes_version FROM scheduler_cluster"),
            pendingStatement, PostgresStatement("DELETE FROM sched_released RETURNING job_id"), BudgetHold.stopHoldsStatement,
        ]

        init(_ results: [PostgresResult]) throws {
            epoch = try results[0][0].decode(0)
            nodesVersion = try results[1][0].decode(0)
            pending = try SchedulerStore.pendingRows(results[2])
            released = try results[3].map { try $0.decode(0) }
            stopHolds = try BudgetHold.stopHolds(results[4])
        }
    }

    /// The whole cluster for the leader's view: the nodes, what is allocated on each, and the
    /// running jobs. The last two are derived from the same rows (the open allocations, one
    /// statement, one snapshot). Read by two statements under READ COMMITTED, they could straddle a
    /// release that committed in between: the node would keep the job's capacity while the job
    /// was no longer running, and nothing would ever give it back to the view. Node capacities
    /// and states are read on their own; a change to them moves the nodes' version, and the view
    /// is loaded again.
    static func cluster(in db: PostgresConnection) throws -> (nodes: [SchedulingNode], running: [RunningJob]) {
        let results = try db.pipeline([
            PostgresStatement("SELECT id, pool, flavor, zone, rack, state, gpus, cpu, memory_gib FROM nodes ORDER BY id"),
            PostgresStatement(
                """
                SELECT a.node_id, a.gpus, a.cpu, a.memory_gib, a.job_id, a.allocated_at, j.state = 'scheduled',
                       j.tenant, j.priority_class, j.flavor, j.gpus, j.cpu, j.memory_gib, j.max_runtime_seconds
                FROM allocations a LEFT JOIN sched_jobs j ON j.job_id = a.job_id
                WHERE a.released_at IS NULL
                ORDER BY a.job_id, a.replica
                """),
        ])
        var allocated: [String: ResourceVector] = [:]
        var running: [RunningJob] = []
        for row in results[1] {
            let node: String = try row.decode(0)
            let replica = ResourceVector(gpus: try row.decode(1), cpu: try row.decode(2), memoryGiB: try row.decode(3))
            allocated[node] = (allocated[node] ?? .zero) + replica
            // Only a scheduled job runs (an open allocation of any other still holds its node).
            guard try row.decodeIfPresent(6, as: Bool.self) == true else { continue }
            let jobID: UUID = try row.decode(4)
            let allocatedAt: Date = try row.decode(5)
            if let last = running.last, last.id == jobID {
                running[running.count - 1].nodes.append(node)
                if allocatedAt < last.startedAt {
                    running[running.count - 1].endsBy = allocatedAt.addingTimeInterval(last.endsBy.timeIntervalSince(last.startedAt))
                    running[running.count - 1].startedAt = allocatedAt
                }
                continue
            }
            running.append(
                RunningJob(
                    id: jobID, tenant: try row.decode(7), priorityClass: SchedulingClass(name: try row.decode(8)) ?? .normal,
                    flavor: try row.decode(9),
                    perReplica: ResourceVector(gpus: try row.decode(10), cpu: try row.decode(11), memoryGiB: try row.decode(12)),
                    nodes: [node], startedAt: allocatedAt,
                    endsBy: allocatedAt.addingTimeInterval(Double(try row.decode(13, as: Int.self)))))
        }
        let nodes = try results[0].map { row in
            let id: String = try row.decode(0)
            return SchedulingNode(
                id: id, pool: try row.decode(1), flavor: try row.decode(2), zone: try row.decode(3),
                rack: try row.decode(4), state: NodeState(rawValue: try row.decode(5)) ?? .lost,
                capacity: ResourceVector(gpus: try row.decode(6), cpu: try row.decode(7), memoryGiB: try row.decode(8)),
                allocated: allocated[id] ?? .zero)
        }
        return (nodes, running)
    }

    static let pendingStatement = PostgresStatement(
        """
        SELECT job_id, tenant, priority_class, flavor, gpus, cpu, memory_gib, replicas, same_zone, submitted_at,
               max_runtime_seconds, reason_code, reason_message, queue_position, depends_on::text[], attempt
        FROM sched_jobs WHERE state = 'pending' AND (not_before IS NULL OR not_before <= now())
        """)

    static func pendingRows(_ result: PostgresResult) throws -> [PendingRow] {
        try result.map { row in
            PendingRow(
                job: PendingJob(
                    id: try row.decode(0), tenant: try row.decode(1), priorityClass: SchedulingClass(name: try row.decode(2)) ?? .normal,
                    flavor: try row.decode(3),
                    perReplica: ResourceVector(gpus: try row.decode(4), cpu: try row.decode(5), memoryGiB: try row.decode(6)),
                    replicas: try row.decode(7), sameZone: try row.decode(8), submittedAt: try row.decode(9),
                    maxRuntimeSeconds: try row.decode(10)),
                reasonCode: try row.decodeIfPresent(11, as: String.self), reasonMessage: try row.decodeIfPresent(12, as: String.self),
                queuePosition: try row.decodeIfPresent(13, as: Int.self),
                dependsOn: try row.decode(14, as: [String].self).compactMap(UUID.init(uuidString:)), attempt: try row.decode(15))
        }
    }

    /// Tenants and quotas come from the admission slice's registry (read only).
    static func policy(now: Date, agingInterval: TimeInterval?, in db: PostgresConnection) throws -> SchedulingPolicy {
        var tenants: [String: TenantPolicy] = [:]
        for row in try db.query("SELECT name, weight::float8, cohort FROM tenants WHERE active") {
            let name = try row.decode(0, as: String.self)
            tenants[name] = TenantPolicy(name: name, weight: try row.decode(1), cohort: try row.decodeIfPresent(2, as: String.self))
        }
        for row in try db.query("SELECT tenant, flavor, nominal, borrowing_limit FROM tenant_quotas") {
            let tenant = try row.decode(0, as: String.self)
            tenants[tenant]?.quotas[try row.decode(1, as: String.self)] = TenantQuota(
                nominal: try row.decode(2), borrowingLimit: try row.decode(3))
        }
        var units: [String: QuotaUnit] = [:]
        for row in try db.query("SELECT name, quota_unit FROM flavors") {
            units[try row.decode(0, as: String.self)] = QuotaUnit(rawValue: try row.decode(1)) ?? .gpu
        }
        return SchedulingPolicy(tenants: tenants, quotaUnits: units, agingInterval: agingInterval, now: now)
    }

    /// Marks placed jobs scheduled. Only jobs still pending at this moment are placed (one finished
    /// or cancelled since the round read it is skipped), so no allocation can be left open for a
    /// job nobody will release. Returns the placements kept; `allocations` records them.
    static func markScheduled(_ placements: [Placement], now: Date, in db: PostgresConnection) throws -> [Placement] {
        guard !placements.isEmpty else { return [] }
        let stillPending = Set(try db.query(
            """
            UPDATE sched_jobs j SET state = 'scheduled', scheduled_at = $4, borrowed_units = p.borrowed, backfilled = p.backfilled,
                   reason_code = NULL, reason_message = NULL, reason_details = NULL, queue_position = NULL, updated_at = $4
            FROM unnest($1::uuid[], $2::int[], $3::bool[]) AS p(job_id, borrowed, backfilled)
            WHERE j.job_id = p.job_id AND j.state = 'pending'
            RETURNING j.job_id
            """, [placements.map { $0.jobID }, placements.map { $0.borrowedUnits }, placements.map { $0.backfilled }, now]
        ).map { try $0.decode(0, as: UUID.self) })
        return placements.filter { stillPending.contains($0.jobID) }
    }

    /// One allocation per replica of the placements `markScheduled` kept (nil: none).
    static func allocations(_ kept: [Placement], jobs: [UUID: PendingJob], epoch: Int64) -> PostgresStatement? {
        var jobIDs: [UUID] = []
        var replicas: [Int] = []
        var nodeIDs: [String] = []
        var gpus: [Int] = []
        var cpus: [Int] = []
        var memory: [Int] = []
        for placement in kept {
            guard let job = jobs[placement.jobID] else { continue }
            for (replica, node) in placement.nodes.enumerated() {
                jobIDs.append(placement.jobID)
                replicas.append(replica)
                nodeIDs.append(node)
                gpus.append(job.perReplica.gpus)
                cpus.append(job.perReplica.cpu)
                memory.append(job.perReplica.memoryGiB)
            }
        }
        guard !jobIDs.isEmpty else { return nil }
        return PostgresStatement(
            """
            INSERT INTO allocations (job_id, replica, node_id, gpus, cpu, memory_gib, epoch, attempt)
            SELECT a.job_id, replica, node_id, a.gpus, a.cpu, a.memory_gib, $7, j.attempt
            FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::int[], $6::int[])
                 AS a(job_id, replica, node_id, gpus, cpu, memory_gib)
            JOIN sched_jobs j ON j.job_id = a.job_id
            """, [jobIDs, replicas, nodeIDs, gpus, cpus, memory, epoch])
    }

    /// Writes reasons and positions that changed since the last round (nil: none changed).
    static func pendingReasons(_ statuses: [PendingStatus], now: Date) throws -> PostgresStatement? {
        guard !statuses.isEmpty else { return nil }
        return PostgresStatement(
            """
            UPDATE sched_jobs j SET reason_code = p.code, reason_message = p.message, reason_details = p.details::jsonb,
                   queue_position = p.position, effective_class = p.class, updated_at = $7
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[])
                 AS p(job_id, code, message, details, position, class)
            WHERE j.job_id = p.job_id AND j.state = 'pending'
            """,
            [
                statuses.map { $0.jobID }, statuses.map { $0.reason.code.rawValue }, statuses.map { $0.reason.message },
                try statuses.map { String(decoding: try JSONCoding.encoder.encode($0.reason.details), as: UTF8.self) },
                statuses.map { $0.queuePosition }, statuses.map { $0.effectiveClass.name }, now,
            ])
    }

    /// Frees finished jobs' capacity (they finished, failed or were stopped). A job the scheduler
    /// has not seen yet (its `job.admitted` still on the way) gets a finished tombstone, so the
    /// late admission is ignored instead of placing a job that already ended. A report of an
    /// attempt older than the job's current one is stale (a fenced run's) and changes nothing.
    /// `attempts`: the reported attempt of each job, nil when the sender gave none (the current).
    /// Returns how many jobs had capacity to give back.
    @discardableResult
    static func release(
        _ jobIDs: [UUID], outcomes: [String]? = nil, attempts: [Int?]? = nil, now: Date, in db: PostgresConnection
    ) throws -> Int {
        guard !jobIDs.isEmpty else { return 0 }
        let outcomes = outcomes ?? jobIDs.map { _ in "succeeded" }
        let results = try db.pipeline(releaseStatements(jobIDs, outcomes: outcomes, attempts: attempts, now: now))
        try finishUnknown(jobIDs, outcomes: outcomes, updated: results[0], now: now, in: db)
        return Set(try results[1].map { try $0.decode(0, as: UUID.self) }).count
    }

    /// The two statements of a release, to send in one pipeline: the jobs' rows set finished
    /// (returns the job ids updated: give them to `finishUnknown`), then their open allocations
    /// closed (returns a job id per allocation closed).
    static func releaseStatements(_ jobIDs: [UUID], outcomes: [String], attempts: [Int?]? = nil, now: Date) -> [PostgresStatement] {
        let attempts = (attempts ?? jobIDs.map { _ in nil }).map { $0 ?? -1 }
        return [
            // The jobs' rows first, in id order (one lock order for every replica): this waits
            // for a round placing one of them to commit, so the next statement sees that round's
            // allocations (READ COMMITTED: a new snapshot per statement, pipelined or not).
            PostgresStatement(
                """
                UPDATE sched_jobs j SET state = 'finished', updated_at = $2, outcome = coalesce(j.outcome, o.outcome)
                FROM unnest($1::uuid[], $3::text[], $4::int[]) AS o(job_id, outcome, attempt)
                WHERE j.job_id = o.job_id AND (o.attempt < 0 OR o.attempt >= j.attempt)
                  AND j.job_id IN (SELECT job_id FROM sched_jobs WHERE job_id = ANY($1::uuid[]) ORDER BY job_id FOR UPDATE)
                RETURNING j.job_id
                """, [jobIDs, now, outcomes, attempts]),
            // The open allocations of those jobs that are finished now: the ones just set, and
            // any finished before (whose allocations are closed already). A stale report's job
            // is not finished (its current attempt runs) and keeps its allocations. By primary
            // key, with a predicate the partial index of open allocations cannot serve (above).
            PostgresStatement(
                """
                UPDATE allocations a SET released_at = $2
                FROM sched_jobs j
                WHERE a.job_id = ANY($1::uuid[]) AND coalesce(a.released_at, 'infinity') = 'infinity'
                  AND j.job_id = a.job_id AND j.state = 'finished'
                RETURNING a.job_id
                """, [jobIDs, now]),
        ]
    }

    /// After the release statements: a finished tombstone for each job the scheduler does not
    /// know (not updated, and no row). Jobs not updated are unknown here, or reports of an older
    /// attempt (stale): only the unknown get one. The common case (every job updated) needs no
    /// second look.
    static func finishUnknown(_ jobIDs: [UUID], outcomes: [String], updated: PostgresResult, now: Date, in db: PostgresConnection) throws {
        let known = Set(try updated.map { try $0.decode(0, as: UUID.self) })
        guard known.count < Set(jobIDs).count else { return }
        let existing = Set(try db.query("SELECT job_id FROM sched_jobs WHERE job_id = ANY($1::uuid[])", [jobIDs]).map {
            try $0.decode(0, as: UUID.self)
        })
        let unknown = jobIDs.filter { !existing.contains($0) }
        guard !unknown.isEmpty else { return }
        try db.query(
            """
            INSERT INTO sched_jobs (job_id, tenant, priority_class, flavor, gpus, cpu, memory_gib, replicas, submitted_at,
                                    max_runtime_seconds, state, reason_message, outcome)
            SELECT id, '', 'normal', '', 0, 1, 1, 1, $2, 1, 'finished', 'finished before it was admitted here', outcome
            FROM unnest($1::uuid[], $3::text[]) AS u(id, outcome)
            ON CONFLICT (job_id) DO NOTHING
            """, [unknown, now, unknown.map { id in outcomes[jobIDs.firstIndex(of: id)!] }])
    }
}

/// The fields of `job.admitted` the scheduler needs, read straight from the payload (no Codable
/// round trip: this runs for every admitted job).
struct AdmittedJob {
    var jobID: UUID
    var tenant: String
    var priorityClass: String
    var replicas: Int
    var resources: Resources
    var maxRuntimeSeconds: Int
    var sameZone: Bool
    var submittedAt: Date
    var dependsOn: [UUID] = []
    /// The job's `retry` object as sent ("": the default policy).
    var retryText = ""

    struct Resources {
        var flavor: String
        var gpus: Int
        var cpu: Int
        var memoryGiB: Int
    }

    /// Throws a description of the first missing or mistyped field.
    init(payload: JSONValue, tenant: String) throws(PayloadError) {
        guard case .object(let fields) = payload else { throw PayloadError("must be an object") }
        guard case .object(let resources)? = fields["resources"] else { throw PayloadError("resources is required") }
        guard let jobID = UUID(text: try Self.string(fields, "job_id")) else { throw PayloadError("job_id must be a UUID") }
        guard let submittedAt = ISO8601.date(from: try Self.string(fields, "submitted_at")) else {
            throw PayloadError("submitted_at must be an ISO 8601 time")
        }
        self.jobID = jobID
        self.tenant = tenant
        priorityClass = try Self.string(fields, "priority_class")
        replicas = try Self.int(fields, "replicas")
        self.resources = Resources(
            flavor: try Self.string(resources, "flavor"), gpus: try Self.int(resources, "gpus"), cpu: try Self.int(resources, "cpu"),
            memoryGiB: try Self.int(resources, "memory_gib"))
        maxRuntimeSeconds = try Self.int(fields, "max_runtime_seconds")
        if case .bool(let flag)? = fields["same_zone"] { sameZone = flag } else { sameZone = false }
        self.submittedAt = submittedAt
        if let retry = fields["retry"], case .object = retry { retryText = String(decoding: retry.serialized(), as: UTF8.self) }
        if case .array(let items)? = fields["depends_on"] {
            dependsOn = try items.map { item throws(PayloadError) -> UUID in
                guard case .string(let text) = item, let id = UUID(uuidString: text) else { throw PayloadError("depends_on must be job ids") }
                return id
            }
        }
    }

    struct PayloadError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func string(_ fields: [String: JSONValue], _ key: String) throws(PayloadError) -> String {
        guard case .string(let text)? = fields[key] else { throw PayloadError("\(key) must be a string") }
        return text
    }

    private static func int(_ fields: [String: JSONValue], _ key: String) throws(PayloadError) -> Int {
        guard let number = fields[key]?.integerValue else { throw PayloadError("\(key) must be an integer") }
        return number
    }
}
