import Foundation

/// Who this node agent is and where it keeps runs, from the environment:
/// `AGENTMGR_NODE_ID` (required: the node's id in the scheduler's registry),
/// `AGENTMGR_NODE_WORKDIR` (default `.data/node-agent/<node>`),
/// `AGENTMGR_NODE_ADDRESS` (how peers reach this node; default the node id) and
/// `AGENTMGR_NODE_PEER_ADDRESS` (one address for every node: nodes simulated on one machine),
/// `AGENTMGR_HEARTBEAT_SECONDS` (default 5), `AGENTMGR_USAGE_SECONDS` (how often it reports its
/// running runs for metering, `node.usage`; default 30) and the node's capacity (`NodeCapacity`).
public struct NodeAgentSettings: Sendable {
    public var nodeID: String
    /// What it registers at start (nil: the node was added by an operator).
    public var capacity: NodeCapacity?
    public var heartbeatInterval: Duration
    public var workDirectory: String
    public var peerAddress: String?
    /// Between SIGTERM and SIGKILL when a run exceeds its max runtime or the agent stops.
    public var gracePeriod: Duration
    /// At most one `job.progress` event per run this often (every checkpoint is an event).
    public var progressInterval: Duration
    public var pollInterval: Duration
    /// How often the running runs are reported to the cost accountant (`node.usage`).
    public var usageInterval: Duration

    public init(
        nodeID: String, workDirectory: String? = nil, peerAddress: String? = nil, gracePeriod: Duration = .seconds(10),
        progressInterval: Duration = .seconds(2), pollInterval: Duration = .milliseconds(200), capacity: NodeCapacity? = nil,
        heartbeatInterval: Duration = .seconds(5), usageInterval: Duration = .seconds(30)
    ) {
        self.usageInterval = usageInterval
        self.nodeID = nodeID
        self.capacity = capacity
        self.heartbeatInterval = heartbeatInterval
        self.workDirectory = workDirectory ?? ".data/node-agent/\(nodeID)"
        self.peerAddress = peerAddress
        self.gracePeriod = gracePeriod
        self.progressInterval = progressInterval
        self.pollInterval = pollInterval
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NodeAgentSettings {
        guard let node = environment["AGENTMGR_NODE_ID"], !node.isEmpty else {
            throw NodeAgentError("AGENTMGR_NODE_ID is required: the id of the node this agent runs (agentctl nodes list)")
        }
        guard node.utf8.count <= 200, !node.contains("/"), !node.hasPrefix(".") else {
            throw NodeAgentError("AGENTMGR_NODE_ID must be at most 200 bytes, without '/', not starting with '.', got \(node)")
        }
        var heartbeat = Duration.seconds(5)
        if let raw = environment["AGENTMGR_HEARTBEAT_SECONDS"], !raw.isEmpty {
            guard let seconds = Double(raw), seconds >= 0.1, seconds <= 300 else {
                throw NodeAgentError("AGENTMGR_HEARTBEAT_SECONDS must be a number of seconds from 0.1 to 300, got \(raw)")
            }
            heartbeat = .milliseconds(Int(seconds * 1000))
        }
        var usage = Duration.seconds(30)
        if let raw = environment["AGENTMGR_USAGE_SECONDS"], !raw.isEmpty {
            guard let seconds = Double(raw), seconds >= 0.1, seconds <= 3600 else {
                throw NodeAgentError("AGENTMGR_USAGE_SECONDS must be a number of seconds from 0.1 to 3600, got \(raw)")
            }
            usage = .milliseconds(Int(seconds * 1000))
        }
        return NodeAgentSettings(
            nodeID: node, workDirectory: environment["AGENTMGR_NODE_WORKDIR"].flatMap { $0.isEmpty ? nil : $0 },
            peerAddress: environment["AGENTMGR_NODE_PEER_ADDRESS"].flatMap { $0.isEmpty ? nil : $0 },
            capacity: try NodeCapacity.fromEnvironment(environment), heartbeatInterval: heartbeat,
            usageInterval: usage)
    }

    func address(of node: String) -> String { peerAddress ?? node }
}

public struct NodeAgentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
