import AgentCore
import Foundation

/// The node a node agent registers: its pool, flavor, place and capacity, from
/// `AGENTMGR_NODE_FLAVOR` (registration is on when it is set), `AGENTMGR_NODE_POOL` (default the
/// flavor), `AGENTMGR_NODE_GPUS` (default 0), `AGENTMGR_NODE_CPU`, `AGENTMGR_NODE_MEMORY_GIB`
/// (required), `AGENTMGR_NODE_ZONE` (default zone-a), `AGENTMGR_NODE_RACK` (default rack-1).
/// Without a flavor the node must already exist (added by `agentctl nodes add`).
public struct NodeCapacity: Equatable, Sendable {
    public var pool: String
    public var flavor: String
    public var gpus: Int
    public var cpu: Int
    public var memoryGiB: Int
    public var zone: String
    public var rack: String

    public init(pool: String, flavor: String, gpus: Int, cpu: Int, memoryGiB: Int, zone: String = "zone-a", rack: String = "rack-1") {
        self.pool = pool
        self.flavor = flavor
        self.gpus = gpus
        self.cpu = cpu
        self.memoryGiB = memoryGiB
        self.zone = zone
        self.rack = rack
    }

    /// nil when `AGENTMGR_NODE_FLAVOR` is not set; an error naming the variable when one is invalid.
    public static func fromEnvironment(_ environment: [String: String]) throws -> NodeCapacity? {
        func text(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let flavor = text("AGENTMGR_NODE_FLAVOR") else { return nil }
        func integer(_ name: String, default value: Int? = nil, minimum: Int) throws -> Int {
            guard let raw = text(name) else {
                guard let value else { throw NodeAgentError("\(name) is required when AGENTMGR_NODE_FLAVOR is set") }
                return value
            }
            guard let number = Int(raw), number >= minimum, number <= 1_000_000 else {
                throw NodeAgentError("\(name) must be a whole number from \(minimum) to 1000000, got \(raw)")
            }
            return number
        }
        let capacity = NodeCapacity(
            pool: text("AGENTMGR_NODE_POOL") ?? flavor, flavor: flavor, gpus: try integer("AGENTMGR_NODE_GPUS", default: 0, minimum: 0),
            cpu: try integer("AGENTMGR_NODE_CPU", minimum: 1), memoryGiB: try integer("AGENTMGR_NODE_MEMORY_GIB", minimum: 1),
            zone: text("AGENTMGR_NODE_ZONE") ?? "zone-a", rack: text("AGENTMGR_NODE_RACK") ?? "rack-1")
        for (name, value) in [("AGENTMGR_NODE_POOL", capacity.pool), ("AGENTMGR_NODE_ZONE", capacity.zone), ("AGENTMGR_NODE_RACK", capacity.rack)] {
            guard value.count <= 63, value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw NodeAgentError("\(name) must be 1-63 letters, digits or '-', got \(value)")
            }
        }
        return capacity
    }

    /// The `node.registered` payload (what the scheduler reads; see docs/events.md).
    public func payload(node: String) -> JSONValue {
        .object([
            "node": .string(node), "pool": .string(pool), "flavor": .string(flavor), "gpus": .number(Double(gpus)),
            "cpu": .number(Double(cpu)), "memory_gib": .number(Double(memoryGiB)), "zone": .string(zone), "rack": .string(rack),
        ])
    }
}
