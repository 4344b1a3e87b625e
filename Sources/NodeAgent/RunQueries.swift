import AgentCore
import Foundation
import Postgres

/// What `agentctl jobs runs|checkpoints|logs` shows: a job's runs and its checkpoints.
public enum RunQueries {
    public struct RunSummary: Codable, Sendable {
        public var runID: String
        public var node: String
        public var rank: Int
        public var worldSize: Int
        public var stage: Int
        /// 0 for the job's first runs; a rollback starts the next attempt.
        public var attempt: Int
        public var state: String
        public var exitCode: Int?
        public var lastStep: Int64?
        public var logPath: String?
        public var resumedFrom: String?
        public var startedAt: Date?
        public var finishedAt: Date?

        enum CodingKeys: String, CodingKey {
            case node, rank, state, stage, attempt
            case runID = "run_id"
            case worldSize = "world_size"
            case exitCode = "exit_code"
            case lastStep = "last_step"
            case logPath = "log_path"
            case resumedFrom = "resumed_from"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
        }
    }

    public struct CheckpointSummary: Codable, Sendable {
        public var runID: String
        public var step: Int64
        public var uri: String
        public var metrics: JSONValue
        public var recordedAt: Date
        /// Past the checkpoint a rollback went back to: never resumed from.
        public var discarded: Bool

        enum CodingKeys: String, CodingKey {
            case step, uri, metrics, discarded
            case runID = "run_id"
            case recordedAt = "recorded_at"
        }
    }

    public static func runs(of jobID: UUID, in db: PostgresConnection) throws -> [RunSummary] {
        try db.query(
            """
            SELECT r.run_id::text, r.node_id, r.rank, r.world_size,
                   -- a run of an attempt the job has moved past, not heard from since (its node was lost)
                   CASE WHEN r.state IN ('starting', 'running') AND r.attempt < coalesce(j.attempt, r.attempt) THEN 'lost' ELSE r.state END,
                   r.exit_code, r.last_step, r.log_path, r.resumed_from, r.started_at, r.finished_at, r.stage, r.attempt
            FROM runs r LEFT JOIN sched_jobs j ON j.job_id = r.job_id
            WHERE r.job_id = $1 ORDER BY r.attempt, r.stage, r.created_at, r.rank
            """, [jobID]
        ).map {
            RunSummary(
                runID: try $0.decode(0), node: try $0.decode(1), rank: try $0.decode(2), worldSize: try $0.decode(3), stage: try $0.decode(11),
                attempt: try $0.decode(12), state: try $0.decode(4),
                exitCode: try $0.decodeIfPresent(5, as: Int.self), lastStep: try $0.decodeIfPresent(6, as: Int64.self),
                logPath: try $0.decodeIfPresent(7, as: String.self), resumedFrom: try $0.decodeIfPresent(8, as: String.self),
                startedAt: try $0.decodeIfPresent(9, as: Date.self), finishedAt: try $0.decodeIfPresent(10, as: Date.self))
        }
    }

    public static func checkpoints(of jobID: UUID, in db: PostgresConnection) throws -> [CheckpointSummary] {
        try db.query(
            """
            SELECT run_id::text, step, uri, metrics::text, recorded_at, discarded FROM checkpoints WHERE job_id = $1
            ORDER BY recorded_at, step
            """, [jobID]
        ).map {
            CheckpointSummary(
                runID: try $0.decode(0), step: try $0.decode(1), uri: try $0.decode(2),
                metrics: try JSONValue.parse(Data(try $0.decode(3, as: String.self).utf8)), recordedAt: try $0.decode(4),
                discarded: try $0.decode(5))
        }
    }
}
