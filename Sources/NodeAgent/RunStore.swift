import AgentCore
import Foundation
import Postgres

/// The node agent's SQL: its runs and their checkpoints; the job and agent version it reads.
enum RunStore {
    struct StartingRun {
        var runID: UUID
        var jobID: UUID
        var rank: Int
        var nodes: [String]
        var stage: Int
        var attempt: Int
        /// A rollback's chosen checkpoint (nil: the job's newest).
        var resumeFrom: String?
    }

    struct LaunchInfo {
        var tenant: String
        var command: String?
        var image: String?
        var maxRuntimeSeconds: Int
        /// Per replica.
        var gpus: Int
        var cpu: Int
        var memoryGiB: Int
        var curriculum: [CurriculumStep]
        var checkpointIntervalSeconds: Int?
        /// Its tenant spent its budget and the scheduler holds its jobs (policy `stop`).
        var budgetHeld: Bool
    }

    /// A run's id follows from what it is (job, attempt, stage, rank): every node's agent knows
    /// the ids of a gang's other ranks (the Kubernetes backend names them all in one Job), and
    /// a placement seen twice names the same runs.
    static func runID(jobID: UUID, attempt: Int, stage: Int, rank: Int) -> UUID {
        let hex = Array(StableID.hex("run:\(jobID.uuidString.lowercased()):\(attempt):\(stage):\(rank)"))
        let text = [hex[0..<8], hex[8..<12], hex[12..<16], hex[16..<20], hex[20..<32]].map { String($0) }.joined(separator: "-")
        return UUID(uuidString: text)!
    }

    static func insertStarting(
        jobID: UUID, nodes: [String], ranks: [Int], node: String, stage: Int = 0, attempt: Int = 0, resumeFrom: String? = nil,
        in db: PostgresConnection
    ) throws {
        try db.query(
            """
            INSERT INTO runs (run_id, job_id, node_id, rank, world_size, nodes, stage, attempt, resume_from)
            SELECT id, $1, $2, r, $3, $4::text[], $6, $7, $8 FROM unnest($5::int[], $9::uuid[]) AS u(r, id)
            ON CONFLICT DO NOTHING
            """,
            [
                jobID, node, nodes.count, nodes, ranks, stage, attempt, resumeFrom,
                ranks.map { runID(jobID: jobID, attempt: attempt, stage: stage, rank: $0) },
            ])
    }

    /// Runs of this node waiting to be launched, locked until the caller's commit. Runs of an
    /// attempt the job has already moved past (a requeue overtook their placement) never start.
    static func claimStarting(node: String, in db: PostgresConnection) throws -> [StartingRun] {
        try db.query(
            """
            UPDATE runs r SET state = 'stopped', stop_reason = 'fenced', finished_at = now() FROM sched_jobs j
            WHERE r.node_id = $1 AND r.state = 'starting' AND j.job_id = r.job_id AND r.attempt < j.attempt
            """, [node])
        return try db.query(
            """
            SELECT run_id, job_id, rank, nodes::text[], stage, attempt, resume_from FROM runs r WHERE node_id = $1 AND state = 'starting'
              -- a curriculum's next stage, or a rollback's new attempt, waits until this node's
              -- earlier runs of the job ended
              AND NOT EXISTS (SELECT 1 FROM runs p WHERE p.job_id = r.job_id AND p.node_id = r.node_id
                              AND (p.attempt < r.attempt OR (p.attempt = r.attempt AND p.stage < r.stage))
                              AND p.state IN ('starting', 'running'))
            ORDER BY created_at FOR UPDATE OF r SKIP LOCKED
            """, [node]
        ).map {
            StartingRun(
                runID: try $0.decode(0), jobID: try $0.decode(1), rank: try $0.decode(2), nodes: try $0.decode(3), stage: try $0.decode(4),
                attempt: try $0.decode(5), resumeFrom: try $0.decodeIfPresent(6, as: String.self))
        }
    }

    static func launchInfo(jobID: UUID, in db: PostgresConnection) throws -> LaunchInfo? {
        try db.query(
            """
            SELECT j.tenant, v.command, v.image, j.max_runtime_seconds, j.curriculum::text, j.gpus, j.cpu, j.memory_gib,
                   j.checkpoint_interval_seconds,
                   EXISTS (SELECT 1 FROM sched_budget_holds h WHERE h.tenant = j.tenant AND h.held AND h.policy = 'stop')
            FROM jobs j JOIN agent_versions v ON v.tenant = j.tenant AND v.agent = j.agent AND v.version = j.agent_version
            WHERE j.id = $1
            """, [jobID]
        ).first.map {
            LaunchInfo(
                tenant: try $0.decode(0), command: try $0.decodeIfPresent(1, as: String.self), image: try $0.decodeIfPresent(2, as: String.self),
                maxRuntimeSeconds: try $0.decode(3), gpus: try $0.decode(5), cpu: try $0.decode(6), memoryGiB: try $0.decode(7),
                curriculum: try CurriculumStep.list(from: JSONValue.parse(Data(try $0.decode(4, as: String.self).utf8))),
                checkpointIntervalSeconds: try $0.decodeIfPresent(8, as: Int.self), budgetHeld: try $0.decode(9))
        }
    }

    /// The job's newest checkpoint, from any of its runs (a resumed job continues from it), not
    /// one a rollback discarded.
    static func latestCheckpoint(jobID: UUID, in db: PostgresConnection) throws -> String? {
        try db.query(
            "SELECT uri FROM checkpoints WHERE job_id = $1 AND NOT discarded ORDER BY step DESC, recorded_at DESC LIMIT 1", [jobID])
            .first.map { try $0.decode(0, as: String.self) }
    }

    static func markRunning(
        _ runID: UUID, pid: Int32?, command: String, logPath: String, checkpointDir: String, resumedFrom: String?, startedAt: Date,
        in db: PostgresConnection
    ) throws {
        try db.query(
            """
            UPDATE runs SET state = 'running', pid = $2, command = $3, log_path = $4, checkpoint_dir = $5, resumed_from = $6,
                            started_at = $7, progress_at = now()
            WHERE run_id = $1
            """, [runID, pid.map(Int.init), command, logPath, checkpointDir, resumedFrom, startedAt])
    }

    static func recordProgress(_ runID: UUID, step: Int64, metrics: [String: Double], in db: PostgresConnection) throws {
        try db.query(
            "UPDATE runs SET last_step = $2, last_metrics = $3::jsonb, progress_at = now() WHERE run_id = $1",
            [runID, step, metricsText(metrics)])
    }

    /// `discarded`: written by a run being rolled back, after the point the job went back to.
    static func recordCheckpoint(
        jobID: UUID, runID: UUID, step: Int64, uri: String, metrics: [String: Double], discarded: Bool = false, in db: PostgresConnection
    ) throws {
        try db.query(
            """
            INSERT INTO checkpoints (job_id, run_id, step, uri, metrics, discarded) VALUES ($1, $2, $3, $4, $5::jsonb, $6)
            ON CONFLICT (run_id, step) DO UPDATE SET uri = EXCLUDED.uri, metrics = EXCLUDED.metrics, discarded = EXCLUDED.discarded
            """,
            [jobID, runID, step, uri, metricsText(metrics), discarded])
    }

    static func finish(_ runID: UUID, state: String, exitCode: Int32?, signal: Int32?, in db: PostgresConnection) throws {
        try db.query(
            "UPDATE runs SET state = $2, exit_code = $3, signal = $4, finished_at = now() WHERE run_id = $1",
            [runID, state, exitCode.map(Int.init), signal.map(Int.init)])
    }

    struct Orphan {
        var runID: UUID
        var jobID: UUID
        var rank: Int
        var stage: Int
        var attempt: Int
        var tenant: String
        var pid: Int?
    }

    /// Runs this node had started before the agent (re)started: the agent that watched them is gone.
    static func orphaned(node: String, in db: PostgresConnection) throws -> [Orphan] {
        try db.query(
            """
            UPDATE runs r SET state = 'lost', finished_at = now() FROM jobs j
            WHERE r.node_id = $1 AND r.state = 'running' AND j.id = r.job_id
            RETURNING r.run_id, r.job_id, r.rank, r.stage, r.attempt, j.tenant, r.pid
            """, [node]
        ).map {
            Orphan(
                runID: try $0.decode(0), jobID: try $0.decode(1), rank: try $0.decode(2), stage: try $0.decode(3), attempt: try $0.decode(4),
                tenant: try $0.decode(5), pid: try $0.decodeIfPresent(6, as: Int.self))
        }
    }

    /// Runs of the job on this node: not yet started ones end `stopped` at once, running ones are
    /// marked for the supervisor to stop.
    /// Returns the runs that never started (for their events).
    @discardableResult
    static func requestStop(jobID: UUID, node: String, in db: PostgresConnection) throws -> [(runID: UUID, rank: Int)] {
        let neverStarted = try db.query(
            """
            UPDATE runs SET state = 'stopped', finished_at = now() WHERE job_id = $1 AND node_id = $2 AND state = 'starting'
            RETURNING run_id, rank
            """, [jobID, node]
        ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: Int.self)) }
        try db.query(
            "UPDATE runs SET stop_requested = true, stop_reason = 'job_ended' WHERE job_id = $1 AND node_id = $2 AND state = 'running'",
            [jobID, node])
        return neverStarted
    }

    /// A rollback of the job: its runs on this node before `attempt` end (not yet started ones at
    /// once, running ones by the supervisor, SIGTERM now); checkpoints past `step` are discarded.
    /// Returns the runs that never started (for their events).
    static func requestRollback(jobID: UUID, node: String, before attempt: Int, step: Int64, in db: PostgresConnection) throws -> [(
        runID: UUID, rank: Int
    )] {
        try db.query("UPDATE checkpoints SET discarded = true WHERE job_id = $1 AND step > $2 AND NOT discarded", [jobID, step])
        try db.query(
            """
            UPDATE runs SET stop_requested = true, stop_reason = 'rolled_back'
            WHERE job_id = $1 AND node_id = $2 AND attempt < $3 AND state = 'running'
            """, [jobID, node, attempt])
        return try db.query(
            """
            UPDATE runs SET state = 'stopped', stop_reason = 'rolled_back', finished_at = now()
            WHERE job_id = $1 AND node_id = $2 AND attempt < $3 AND state = 'starting'
            RETURNING run_id, rank
            """, [jobID, node, attempt]
        ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: Int.self)) }
    }

    /// Each job's current attempt as the scheduler counts it (requeues start the next).
    static func currentAttempts(of jobIDs: [UUID], in db: PostgresConnection) throws -> [UUID: Int] {
        var attempts: [UUID: Int] = [:]
        for row in try db.query("SELECT job_id, attempt FROM sched_jobs WHERE job_id = ANY($1::uuid[])", [jobIDs]) {
            attempts[try row.decode(0, as: UUID.self)] = try row.decode(1, as: Int.self)
        }
        return attempts
    }

    /// A requeue of the job (job.requeued) or a preemption (job.preemption_requested): its runs on
    /// this node of attempts before `attempt` (requeue) or of `attempt` itself (preemption) stop,
    /// with `reason`. Not yet started ones end at once; returns them (for their events).
    static func requestStop(
        jobID: UUID, node: String, attempts: ClosedRange<Int>, reason: String, in db: PostgresConnection
    ) throws -> [(runID: UUID, rank: Int)] {
        try db.query(
            """
            UPDATE runs SET stop_requested = true, stop_reason = $5
            WHERE job_id = $1 AND node_id = $2 AND attempt BETWEEN $3 AND $4 AND state = 'running' AND NOT stop_requested
            """, [jobID, node, attempts.lowerBound, attempts.upperBound, reason])
        return try db.query(
            """
            UPDATE runs SET state = 'stopped', stop_reason = $5, finished_at = now()
            WHERE job_id = $1 AND node_id = $2 AND attempt BETWEEN $3 AND $4 AND state = 'starting'
            RETURNING run_id, rank
            """, [jobID, node, attempts.lowerBound, attempts.upperBound, reason]
        ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: Int.self)) }
    }

    /// The tenant spent its budget (budget.exceeded, policy `stop`, sent on by the scheduler once
    /// it holds the tenant): its jobs' rank-0 runs here stop at their next checkpoint (their other
    /// ranks stop with the job); runs not yet started end at once. Returns those (for their
    /// events). Nothing happens if the hold is gone (a copy that arrives after budget.restored).
    static func requestBudgetStop(tenant: String, node: String, in db: PostgresConnection) throws -> [(
        runID: UUID, jobID: UUID, rank: Int, attempt: Int
    )] {
        guard
            try db.query("SELECT 1 FROM sched_budget_holds WHERE tenant = $1 AND held AND policy = 'stop'", [tenant]).first != nil
        else { return [] }
        // Not yet started first: one the supervisor is launching right now is locked by it; this
        // waits, finds it running, and the next statement asks it to stop.
        let stopped = try db.query(
            """
            UPDATE runs r SET state = 'stopped', stop_reason = 'budget_exceeded', finished_at = now() FROM jobs j
            WHERE r.node_id = $1 AND j.id = r.job_id AND j.tenant = $2 AND r.state = 'starting'
            RETURNING r.run_id, r.job_id, r.rank, r.attempt
            """, [node, tenant]
        ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: UUID.self), try $0.decode(2, as: Int.self), try $0.decode(3, as: Int.self)) }
        try db.query(
            """
            UPDATE runs r SET stop_requested = true, stop_reason = 'budget_exceeded' FROM jobs j
            WHERE r.node_id = $1 AND j.id = r.job_id AND j.tenant = $2 AND r.state = 'running' AND r.rank = 0 AND NOT r.stop_requested
            """, [node, tenant])
        return stopped
    }

    /// This node's running runs and when they started (the usage heartbeat).
    static func runningUsage(node: String, in db: PostgresConnection) throws -> [(runID: UUID, jobID: UUID, startedAt: Date)] {
        try db.query(
            "SELECT run_id, job_id, started_at FROM runs WHERE node_id = $1 AND state = 'running' AND started_at IS NOT NULL ORDER BY run_id",
            [node]
        ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: UUID.self), try $0.decode(2, as: Date.self)) }
    }

    /// The curriculum stage to run when a job starts again after a requeue: that of the run that
    /// wrote its newest checkpoint (0 without one).
    static func resumeStage(jobID: UUID, in db: PostgresConnection) throws -> Int {
        try db.query(
            """
            SELECT r.stage FROM checkpoints c JOIN runs r ON r.run_id = c.run_id
            WHERE c.job_id = $1 AND NOT c.discarded ORDER BY c.step DESC, c.recorded_at DESC LIMIT 1
            """, [jobID]
        ).first.map { try $0.decode(0, as: Int.self) } ?? 0
    }

    /// This node's running runs someone asked to stop, with why (`job_ended`, `rolled_back`).
    static func stopRequested(node: String, in db: PostgresConnection) throws -> [UUID: String] {
        var requests: [UUID: String] = [:]
        for row in try db.query(
            "SELECT run_id, coalesce(stop_reason, 'job_ended') FROM runs WHERE node_id = $1 AND state = 'running' AND stop_requested", [node])
        {
            requests[try row.decode(0, as: UUID.self)] = try row.decode(1, as: String.self)
        }
        return requests
    }

    /// Metrics as the jsonb text the tables store.
    private static func metricsText(_ metrics: [String: Double]) -> String {
        String(decoding: Supervisor.json(metrics).serialized(), as: UTF8.self)
    }
}
