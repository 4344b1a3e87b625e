import Foundation
import Postgres

/// What `agentctl health` shows: nodes with agents and their last heartbeat, worker replicas and
/// theirs, and the alerts still open.
public enum HealthQueries {
    public struct NodeHealth: Codable, Sendable {
        public var node: String
        public var nodeState: String?
        public var health: String
        public var secondsSinceHeartbeat: Double
        public var runningRuns: Int
        public var reason: String?

        enum CodingKeys: String, CodingKey {
            case node, health, reason
            case nodeState = "node_state"
            case secondsSinceHeartbeat = "seconds_since_heartbeat"
            case runningRuns = "running_runs"
        }
    }

    public struct WorkerHealth: Codable, Sendable {
        public var worker: String
        public var instance: String
        public var host: String
        public var pid: Int
        public var state: String
        public var secondsSinceHeartbeat: Double

        enum CodingKeys: String, CodingKey {
            case worker, instance, host, pid, state
            case secondsSinceHeartbeat = "seconds_since_heartbeat"
        }
    }

    public struct OpenAlert: Codable, Sendable {
        public var kind: String
        public var subject: String
        public var message: String
        public var raisedAt: Date

        enum CodingKeys: String, CodingKey {
            case kind, subject, message
            case raisedAt = "raised_at"
        }
    }

    public static func nodes(in db: PostgresConnection) throws -> [NodeHealth] {
        try db.query(
            """
            SELECT a.node_id, n.state, coalesce(h.state, 'ok'), extract(epoch FROM now() - a.heartbeat_at)::float8, a.running_runs, h.reason
            FROM node_agents a LEFT JOIN nodes n ON n.id = a.node_id LEFT JOIN health_nodes h ON h.node_id = a.node_id
            ORDER BY a.node_id
            """
        ).map {
            NodeHealth(
                node: try $0.decode(0), nodeState: try $0.decodeIfPresent(1, as: String.self), health: try $0.decode(2),
                secondsSinceHeartbeat: try $0.decode(3), runningRuns: try $0.decode(4), reason: try $0.decodeIfPresent(5, as: String.self))
        }
    }

    /// Replicas running now, or that stopped within the last hour.
    public static func workers(in db: PostgresConnection) throws -> [WorkerHealth] {
        try db.query(
            """
            SELECT w.worker, w.instance::text, w.host, w.pid,
                   CASE WHEN w.stopped_at IS NOT NULL THEN 'stopped' ELSE coalesce(h.state, 'ok') END,
                   extract(epoch FROM now() - w.heartbeat_at)::float8
            FROM worker_heartbeats w LEFT JOIN health_workers h ON h.worker = w.worker AND h.instance = w.instance
            WHERE w.stopped_at IS NULL OR w.stopped_at > now() - interval '1 hour'
            ORDER BY w.worker, w.started_at
            """
        ).map {
            WorkerHealth(
                worker: try $0.decode(0), instance: try $0.decode(1), host: try $0.decode(2), pid: try $0.decode(3), state: try $0.decode(4),
                secondsSinceHeartbeat: try $0.decode(5))
        }
    }

    /// `alert.raised` events without a later `alert.resolved` for the same kind and subject.
    public static func openAlerts(limit: Int = 20, in db: PostgresConnection) throws -> [OpenAlert] {
        try db.query(
            """
            SELECT r.payload->>'kind', r.payload->>'subject', r.payload->>'message', r.occurred_at FROM events r
            WHERE r.type = 'alert.raised' AND NOT EXISTS (
                SELECT 1 FROM events s WHERE s.type = 'alert.resolved' AND s.seq > r.seq
                  AND s.payload->>'kind' = r.payload->>'kind' AND s.payload->>'subject' = r.payload->>'subject')
            ORDER BY r.seq DESC LIMIT $1
            """, [limit]
        ).map {
            OpenAlert(kind: try $0.decode(0), subject: try $0.decode(1), message: try $0.decode(2), raisedAt: try $0.decode(3))
        }
    }
}
