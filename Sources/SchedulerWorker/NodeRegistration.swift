import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// A node agent's `node.registered`: the node joins (or rejoins, with its current capacity) the
/// scheduler's `nodes`. An operator's cordon or drain survives a re-registration; a node that was
/// `lost` is ready again. A registration the scheduler cannot accept (unknown flavor, a pool of
/// another flavor) becomes `node.rejected` with the reason.
enum NodeRegistration {
    struct Node {
        var id: String
        var pool: String
        var flavor: String
        var gpus: Int
        var cpu: Int
        var memoryGiB: Int
        var zone: String
        var rack: String

        init(payload: JSONValue) throws {
            func text(_ key: String) throws -> String {
                guard case .string(let value)? = payload[key], !value.isEmpty, value.utf8.count <= 200 else {
                    throw MalformedMessage("node.registered payload needs \(key) (a non-empty string)")
                }
                return value
            }
            func count(_ key: String, minimum: Int) throws -> Int {
                guard let value = payload[key]?.integerValue, value >= minimum else {
                    throw MalformedMessage("node.registered payload needs \(key) (a whole number ≥ \(minimum))")
                }
                return value
            }
            id = try text("node")
            pool = try text("pool")
            flavor = try text("flavor")
            zone = try text("zone")
            rack = try text("rack")
            gpus = try count("gpus", minimum: 0)
            cpu = try count("cpu", minimum: 1)
            memoryGiB = try count("memory_gib", minimum: 1)
        }
    }

    /// Records the node, or returns why it cannot be.
    static func apply(_ node: Node, in db: PostgresConnection) throws -> String? {
        guard try db.query("SELECT 1 FROM flavors WHERE name = $1", [node.flavor]).count == 1 else {
            return "flavor \(node.flavor) does not exist (config/flavors.json)"
        }
        if let other = try db.query("SELECT flavor FROM nodes WHERE pool = $1 AND flavor <> $2 LIMIT 1", [node.pool, node.flavor]).first {
            return "pool \(node.pool) holds nodes of flavor \(try other.decode(0, as: String.self)), not \(node.flavor)"
        }
        try db.query(
            """
            INSERT INTO nodes (id, pool, flavor, zone, rack, gpus, cpu, memory_gib) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (id) DO UPDATE SET pool = EXCLUDED.pool, flavor = EXCLUDED.flavor, zone = EXCLUDED.zone, rack = EXCLUDED.rack,
                gpus = EXCLUDED.gpus, cpu = EXCLUDED.cpu, memory_gib = EXCLUDED.memory_gib,
                state = CASE WHEN nodes.state = 'lost' THEN 'ready' ELSE nodes.state END, updated_at = now()
            """, [node.id, node.pool, node.flavor, node.zone, node.rack, node.gpus, node.cpu, node.memoryGiB])
        return nil
    }
}
