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
    }

    struct LaunchInfo {
        var tenant: String
        var command: String?
        var image: String?
        var maxRuntimeSeconds: Int
        var curriculum: [CurriculumStep]
    }

    static func insertStarting(jobID: UUID, nodes: [String], ranks: [Int], node: String, stage: Int = 0, in db: PostgresConnection) throws {
        try db.query(
            """
            INSERT INTO runs (run_id, job_id, node_id, rank, world_size, nodes, stage)
            SELECT gen_random_uuid(), $1, $2, r, $3, $4::text[], $6 FROM unnest($5::int[]) AS u(r)
            ON CONFLICT DO NOTHING
            """, [jobID, node, nodes.count, nodes, ranks, stage])
    }

    /// Runs of this node waiting to be launched, locked until the caller's commit.
    static func claimStarting(node: String, in db: PostgresConnection) throws -> [StartingRun] {
        try db.query(
            """
            SELECT run_id, job_id, rank, nodes::text[], stage FROM runs r WHERE node_id = $1 AND state = 'starting'
              -- a curriculum's next stage waits until this node's runs of the earlier stage ended
              AND NOT EXISTS (SELECT 1 FROM runs p WHERE p.job_id = r.job_id AND p.node_id = r.node_id AND p.stage < r.stage
                              AND p.state IN ('starting', 'running'))
            ORDER BY created_at FOR UPDATE OF r SKIP LOCKED
            """, [node]
        ).map {
            StartingRun(runID: try $0.decode(0), jobID: try $0.decode(1), rank: try $0.decode(2), nodes: try $0.decode(3), stage: try $0.decode(4))
        }
    }

    static func launchInfo(jobID: UUID, in db: PostgresConnection) throws -> LaunchInfo? {
        try db.query(
            """
            SELECT j.tenant, v.command, v.image, j.max_runtime_seconds, j.curriculum::text
            FROM jobs j JOIN agent_versions v ON v.tenant = j.tenant AND v.agent = j.agent AND v.version = j.agent_version
            WHERE j.id = $1
            """, [jobID]
        ).first.map {
            LaunchInfo(
                tenant: try $0.decode(0), command: try $0.decodeIfPresent(1, as: String.self), image: try $0.decodeIfPresent(2, as: String.self),
                maxRuntimeSeconds: try $0.decode(3),
                curriculum: try CurriculumStep.list(from: JSONValue.parse(Data(try $0.decode(4, as: String.self).utf8))))
        }
    }

    /// The job's newest checkpoint, from any of its runs (a resumed job continues from it).
    static func latestCheckpoint(jobID: UUID, in db: PostgresConnection) throws -> String? {
        try db.query("SELECT uri FROM checkpoints WHERE job_id = $1 ORDER BY step DESC, recorded_at DESC LIMIT 1", [jobID])
            .first.map { try $0.decode(0, as: String.self) }
    }

    static func markRunning(
        _ runID: UUID, pid: Int32, command: String, logPath: String, checkpointDir: String, resumedFrom: String?, in db: PostgresConnection
    ) throws {
        try db.query(
            """
            UPDATE runs SET state = 'running', pid = $2, command = $3, log_path = $4, checkpoint_dir = $5, resumed_from = $6,
                            started_at = now()
            WHERE run_id = $1
            """, [runID, Int(pid), command, logPath, checkpointDir, resumedFrom])
    }

    static func recordProgress(_ runID: UUID, step: Int64, metrics: [String: Double], in db: PostgresConnection) throws {
        try db.query(
            "UPDATE runs SET last_step = $2, last_metrics = $3::jsonb WHERE run_id = $1",
            [runID, step, metricsText(metrics)])
    }

    static func recordCheckpoint(jobID: UUID, runID: UUID, step: Int64, uri: String, metrics: [String: Double], in db: PostgresConnection)
        throws
    {
        try db.query(
            """
            INSERT INTO checkpoints (job_id, run_id, step, uri, metrics) VALUES ($1, $2, $3, $4, $5::jsonb)
            ON CONFLICT (run_id, step) DO UPDATE SET uri = EXCLUDED.uri, metrics = EXCLUDED.metrics
            """,
            [jobID, runID, step, uri, metricsText(metrics)])
    }

    static func finish(_ runID: UUID, state: String, exitCode: Int32?, signal: Int32?, in db: PostgresConnection) throws {
        try db.query(
            "UPDATE runs SET state = $2, exit_code = $3, signal = $4, finished_at = now() WHERE run_id = $1",
            [runID, state, exitCode.map(Int.init), signal.map(Int.init)])
    }

    /// Runs this node had started before the agent (re)started: their processes are gone.
    static func orphaned(node: String, in db: PostgresConnection) throws -> [(runID: UUID, jobID: UUID, rank: Int, tenant: String, pid: Int?)] {
        try db.query(
            """
            UPDATE runs r SET state = 'lost', finished_at = now() FROM jobs j
            WHERE r.node_id = $1 AND r.state = 'running' AND j.id = r.job_id
            RETURNING r.run_id, r.job_id, r.rank, j.tenant, r.pid
            """, [node]
        ).map { (try $0.decode(0), try $0.decode(1), try $0.decode(2), try $0.decode(3), try $0.decodeIfPresent(4, as: Int.self)) }
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
            "UPDATE runs SET stop_requested = true WHERE job_id = $1 AND node_id = $2 AND state = 'running'", [jobID, node])
        return neverStarted
    }

    /// This node's running runs someone asked to stop.
    static func stopRequested(node: String, in db: PostgresConnection) throws -> Set<UUID> {
        Set(try db.query(
            "SELECT run_id FROM runs WHERE node_id = $1 AND state = 'running' AND stop_requested", [node]
        ).map { try $0.decode(0, as: UUID.self) })
    }

    /// Metrics as the jsonb text the tables store.
    private static func metricsText(_ metrics: [String: Double]) -> String {
        String(decoding: Supervisor.json(metrics).serialized(), as: UTF8.self)
    }
}
