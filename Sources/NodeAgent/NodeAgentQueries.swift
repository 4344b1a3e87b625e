import Foundation
import Postgres

/// What `agentctl nodes agents` shows: each node's agent, its heartbeat and the node's state.
public enum NodeAgentQueries {
    public struct AgentSummary: Codable, Sendable {
        public var node: String
        /// The scheduler's state of the node (nil: the scheduler does not know it yet).
        public var nodeState: String?
        public var host: String
        public var pid: Int
        public var backend: String
        public var runningRuns: Int
        public var startedAt: Date
        public var heartbeatAt: Date
        public var secondsSinceHeartbeat: Double
        public var stoppedAt: Date?

        enum CodingKeys: String, CodingKey {
            case node, host, pid, backend
            case nodeState = "node_state"
            case runningRuns = "running_runs"
            case startedAt = "started_at"
            case heartbeatAt = "heartbeat_at"
            case secondsSinceHeartbeat = "seconds_since_heartbeat"
            case stoppedAt = "stopped_at"
        }
    }

    public static func agents(in db: PostgresConnection) throws -> [AgentSummary] {
        try db.query(
            """
            SELECT a.node_id, n.state, a.host, a.pid, a.backend, a.running_runs, a.started_at, a.heartbeat_at,
                   extract(epoch FROM now() - a.heartbeat_at)::float8, a.stopped_at
            FROM node_agents a LEFT JOIN nodes n ON n.id = a.node_id ORDER BY a.node_id
            """
        ).map {
            AgentSummary(
                node: try $0.decode(0), nodeState: try $0.decodeIfPresent(1, as: String.self), host: try $0.decode(2), pid: try $0.decode(3),
                backend: try $0.decode(4), runningRuns: try $0.decode(5), startedAt: try $0.decode(6), heartbeatAt: try $0.decode(7),
                secondsSinceHeartbeat: try $0.decode(8), stoppedAt: try $0.decodeIfPresent(9, as: Date.self))
        }
    }
}
