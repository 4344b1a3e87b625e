import AgentCore
import CostAccounting
import Foundation
import Postgres

/// The cost accountant's SQL. A batch costs a fixed handful of statements (arrays through
/// `unnest`), whatever the number of runs it meters. Rows are locked in key order (runs, then
/// jobs, then spend rows), so replicas working on overlapping batches cannot deadlock.
enum CostStore {
    /// What a run is metered at, from its job (admission's `jobs` and `flavors`, read only).
    struct JobInfo {
        var tenant: String
        var agent: String
        var flavor: String
        var priorityClass: String
        var units: Int
        var unit: String
        var rate: RunRate
        var projected: Decimal
        var admittedAt: Date
    }

    static func jobInfo(_ ids: Set<UUID>, in db: PostgresConnection) throws -> [UUID: JobInfo] {
        guard !ids.isEmpty else { return [:] }
        var jobs: [UUID: JobInfo] = [:]
        for row in try db.query(
            """
            SELECT j.id, j.tenant, j.agent, j.flavor, j.priority_class, CASE f.quota_unit WHEN 'gpu' THEN j.gpus ELSE j.cpu END,
                   f.quota_unit, f.price_per_unit_hour, f.batch_discount, j.projected_cost, j.admitted_at
            FROM jobs j JOIN flavors f ON f.name = j.flavor WHERE j.id = ANY($1::uuid[])
            """, [Array(ids)])
        {
            let units = try row.decode(5, as: Int.self)
            let priorityClass = try row.decode(4, as: String.self)
            jobs[try row.decode(0, as: UUID.self)] = JobInfo(
                tenant: try row.decode(1), agent: try row.decode(2), flavor: try row.decode(3), priorityClass: priorityClass, units: units,
                unit: try row.decode(6),
                rate: RunRate(
                    units: units, pricePerUnitHour: try row.decode(7), batchDiscount: try row.decode(8), isBatch: priorityClass == "batch"),
                projected: try row.decode(9), admittedAt: try row.decode(10))
        }
        return jobs
    }

    /// A run as metered so far (locked until commit).
    struct MeteredRun {
        var runID: UUID
        var jobID: UUID
        var tenant: String
        var agent: String
        var flavor: String
        var node: String?
        var ratePerHour: Decimal
        var meter: RunMeter
        var outcome: String?
        var seconds: Decimal
        var cost: Decimal
    }

    /// Creates the rows of runs not seen before, then locks and reads every run of the batch.
    static func lockRuns(_ runs: [(runID: UUID, jobID: UUID)], jobs: [UUID: JobInfo], in db: PostgresConnection) throws -> [UUID: MeteredRun] {
        let known = runs.filter { jobs[$0.jobID] != nil }.sorted { $0.runID.uuidString < $1.runID.uuidString }
        guard !known.isEmpty else { return [:] }
        let info = known.map { jobs[$0.jobID]! }
        try db.query(
            """
            INSERT INTO cost_runs (run_id, job_id, tenant, agent, flavor, priority_class, units, unit, rate_per_hour)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::numeric[])
            ORDER BY 1
            ON CONFLICT (run_id) DO NOTHING
            """,
            [
                known.map { $0.runID }, known.map { $0.jobID }, info.map { $0.tenant }, info.map { $0.agent }, info.map { $0.flavor }, info.map { $0.priorityClass },
                info.map { $0.units }, info.map { $0.unit }, info.map { $0.rate.perHour },
            ])
        var metered: [UUID: MeteredRun] = [:]
        for row in try db.query(
            """
            SELECT run_id, job_id, tenant, agent, flavor, node_id, rate_per_hour, started_at, seen_until, ended_at, outcome, seconds, cost
            FROM cost_runs WHERE run_id = ANY($1::uuid[]) ORDER BY run_id FOR UPDATE
            """, [known.map { $0.runID }])
        {
            let run = MeteredRun(
                runID: try row.decode(0), jobID: try row.decode(1), tenant: try row.decode(2), agent: try row.decode(3), flavor: try row.decode(4),
                node: try row.decodeIfPresent(5, as: String.self), ratePerHour: try row.decode(6),
                meter: RunMeter(
                    startedAt: try row.decodeIfPresent(7, as: Date.self), seenUntil: try row.decodeIfPresent(8, as: Date.self),
                    endedAt: try row.decodeIfPresent(9, as: Date.self), lost: try row.decodeIfPresent(10, as: String.self) == "lost"),
                outcome: try row.decodeIfPresent(10, as: String.self), seconds: try row.decode(11), cost: try row.decode(12))
            metered[run.runID] = run
        }
        return metered
    }

    static func saveRuns(_ runs: [MeteredRun], now: Date, in db: PostgresConnection) throws {
        guard !runs.isEmpty else { return }
        try db.query(
            """
            UPDATE cost_runs c SET node_id = u.node, started_at = u.started_at, seen_until = u.seen_until, ended_at = u.ended_at,
                   outcome = u.outcome, seconds = u.seconds, cost = u.cost, updated_at = $9
            FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::numeric[], $8::numeric[])
                 AS u(run_id, node, started_at, seen_until, ended_at, outcome, seconds, cost)
            WHERE c.run_id = u.run_id
            """,
            [
                runs.map { $0.runID }, PostgresNullableArray(runs.map { $0.node }), PostgresNullableArray(runs.map { $0.meter.startedAt }),
                PostgresNullableArray(runs.map { $0.meter.seenUntil }), PostgresNullableArray(runs.map { $0.meter.endedAt }),
                PostgresNullableArray(runs.map { $0.outcome }), runs.map { $0.seconds }, runs.map { $0.cost }, now,
            ])
    }

    /// One row per run and day, set (not added to): applying the same interval again is a no-op.
    static func setLedger(_ rows: [(run: MeteredRun, charge: DayCharge)], in db: PostgresConnection) throws {
        guard !rows.isEmpty else { return }
        try db.query(
            """
            INSERT INTO cost_ledger (run_id, day, tenant, job_id, agent, flavor, seconds, cost)
            SELECT * FROM unnest($1::uuid[], $2::date[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::numeric[], $8::numeric[])
            ON CONFLICT (run_id, day) DO UPDATE SET seconds = EXCLUDED.seconds, cost = EXCLUDED.cost
            """,
            [
                rows.map { $0.run.runID }, rows.map { $0.charge.day }, rows.map { $0.run.tenant }, rows.map { $0.run.jobID }, rows.map { $0.run.agent },
                rows.map { $0.run.flavor }, rows.map { $0.charge.seconds }, rows.map { $0.charge.cost },
            ])
    }

    /// A job's reservation as the accountant tracks it (locked until commit).
    struct ReservedJob {
        var jobID: UUID
        var tenant: String
        var reservedPeriod: String
        var projected: Decimal
        var metered: Decimal
        var released: Decimal
        var endedAt: Date?
        var outcome: String?

        /// What of the reservation no longer holds money back: what was metered in its place
        /// (at most all of it) while the job may still run; all of it once the job ended.
        var releasable: Decimal { endedAt != nil ? projected : min(metered, projected) }
    }

    static func lockJobs(_ ids: Set<UUID>, jobs: [UUID: JobInfo], in db: PostgresConnection) throws -> [UUID: ReservedJob] {
        let known = ids.filter { jobs[$0] != nil }.sorted { $0.uuidString < $1.uuidString }
        guard !known.isEmpty else { return [:] }
        let info = known.map { jobs[$0]! }
        try db.query(
            """
            INSERT INTO cost_jobs (job_id, tenant, reserved_period, projected)
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[]) ORDER BY 1
            ON CONFLICT (job_id) DO NOTHING
            """, [known, info.map { $0.tenant }, info.map { Metering.monthText($0.admittedAt) }, info.map { $0.projected }])
        var reserved: [UUID: ReservedJob] = [:]
        for row in try db.query(
            """
            SELECT job_id, tenant, reserved_period, projected, metered, released, ended_at, outcome
            FROM cost_jobs WHERE job_id = ANY($1::uuid[]) ORDER BY job_id FOR UPDATE
            """, [known])
        {
            let job = ReservedJob(
                jobID: try row.decode(0), tenant: try row.decode(1), reservedPeriod: try row.decode(2), projected: try row.decode(3),
                metered: try row.decode(4), released: try row.decode(5), endedAt: try row.decodeIfPresent(6, as: Date.self),
                outcome: try row.decodeIfPresent(7, as: String.self))
            reserved[job.jobID] = job
        }
        return reserved
    }

    static func saveJobs(_ jobs: [ReservedJob], in db: PostgresConnection) throws {
        guard !jobs.isEmpty else { return }
        try db.query(
            """
            UPDATE cost_jobs c SET metered = u.metered, released = u.released, ended_at = u.ended_at, outcome = u.outcome
            FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::timestamptz[], $5::text[]) AS u(job_id, metered, released, ended_at, outcome)
            WHERE c.job_id = u.job_id
            """,
            [
                jobs.map { $0.jobID }, jobs.map { $0.metered }, jobs.map { $0.released }, PostgresNullableArray(jobs.map { $0.endedAt }),
                PostgresNullableArray(jobs.map { $0.outcome }),
            ])
    }

    struct SpendKey: Hashable, Comparable {
        var tenant: String
        var period: String
        static func < (a: SpendKey, b: SpendKey) -> Bool { (a.tenant, a.period) < (b.tenant, b.period) }
    }

    /// Adds metered cost and released reservations to the tenants' spend rows (one statement).
    static func addSpend(_ deltas: [SpendKey: (metered: Decimal, released: Decimal)], in db: PostgresConnection) throws {
        let keys = deltas.keys.filter { deltas[$0]!.metered != 0 || deltas[$0]!.released != 0 }.sorted()
        guard !keys.isEmpty else { return }
        try db.query(
            """
            INSERT INTO cost_spend (tenant, period, metered, released)
            SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[]) ORDER BY 1, 2
            ON CONFLICT (tenant, period) DO UPDATE
                SET metered = cost_spend.metered + EXCLUDED.metered, released = cost_spend.released + EXCLUDED.released
            """, [keys.map { $0.tenant }, keys.map { $0.period }, keys.map { deltas[$0]!.metered }, keys.map { deltas[$0]!.released }])
    }
}
