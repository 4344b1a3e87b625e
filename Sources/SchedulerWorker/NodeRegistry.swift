import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// Nodes as the scheduler knows them: registered by node agents or, for simulation, by
/// `agentctl nodes add|import-cluster`; cordoned, drained or made ready again by operators. Every
/// change is validated, recorded as an event, and wakes the scheduler.
public struct NodeRegistry: Sendable {
    let pool: PostgresPool
    let topology: Topology
    let actor: String

    public init(pool: PostgresPool, topology: Topology, actor: String) {
        self.pool = pool
        self.topology = topology
        self.actor = actor
    }

    public struct NodeShape: Sendable {
        public var gpus: Int
        public var cpu: Int
        public var memoryGiB: Int

        public init(gpus: Int, cpu: Int, memoryGiB: Int) {
            self.gpus = gpus
            self.cpu = cpu
            self.memoryGiB = memoryGiB
        }
    }

    /// Adds `count` identical nodes named `<pool>-0001`, `<pool>-0002`... after those the pool has,
    /// spread over `zones` zones (`zone-a`, `zone-b`...) and racks of 32. Returns their ids.
    @discardableResult
    public func add(pool name: String, flavor: String, count: Int, shape: NodeShape, zones: Int = 1) throws -> [String] {
        guard (1...100_000).contains(count) else { throw NodeRegistryError("count must be between 1 and 100000, got \(count)") }
        guard (1...26).contains(zones) else { throw NodeRegistryError("zones must be between 1 and 26, got \(zones)") }
        guard shape.gpus >= 0, shape.cpu >= 1, shape.memoryGiB >= 1 else {
            throw NodeRegistryError("a node needs gpus ≥ 0, cpu ≥ 1 and memory ≥ 1 GiB")
        }
        guard !name.isEmpty, name.count <= 63, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw NodeRegistryError("pool name must be 1-63 letters, digits or '-', got \"\(name)\"")
        }
        return try pool.transaction { db in
            guard try db.query("SELECT 1 FROM flavors WHERE name = $1", [flavor]).count == 1 else {
                throw NodeRegistryError("flavor \(flavor) does not exist (see config/flavors.json)")
            }
            let existing = try db.query("SELECT count(*) FROM nodes WHERE pool = $1", [name])[0].decode(0, as: Int.self)
            let ids = (existing..<existing + count).map { String(format: "%@-%04d", name, $0 + 1) }
            let zoneNames = ids.indices.map { "zone-" + String(UnicodeScalar(UInt8(97 + ($0 + existing) % zones))) }
            let racks = ids.indices.map { "rack-\(name)-\(($0 + existing) / 32 + 1)" }
            try db.query(
                """
                INSERT INTO nodes (id, pool, flavor, zone, rack, gpus, cpu, memory_gib)
                SELECT id, $2, $3, zone, rack, $6, $7, $8 FROM unnest($1::text[], $4::text[], $5::text[]) AS n(id, zone, rack)
                """, [ids, name, flavor, zoneNames, racks, shape.gpus, shape.cpu, shape.memoryGiB])
            try EventRecorder.append(
                [(
                    EventEnvelope(
                        type: "nodes.registered", producer: actor, subjects: ["pool": name],
                        payload: [
                            "pool": .string(name), "flavor": .string(flavor), "count": .number(Double(count)),
                            "first": .string(ids.first ?? ""), "last": .string(ids.last ?? ""),
                            "gpus": .number(Double(shape.gpus)), "cpu": .number(Double(shape.cpu)),
                            "memory_gib": .number(Double(shape.memoryGiB)), "zones": .number(Double(zones)),
                        ]), nil
                )], topology: topology, in: db)
            try SchedulerStore.wake(db)
            return ids
        }
    }

    /// `ready`, `cordoned` or `draining` (node agents and the health checker set `lost`).
    public func setState(node: String, _ state: String) throws {
        guard ["ready", "cordoned", "draining"].contains(state) else {
            throw NodeRegistryError("state must be ready, cordoned or draining, got \(state)")
        }
        try pool.transaction { db in
            let updated = try db.query("UPDATE nodes SET state = $2, updated_at = now() WHERE id = $1", [node, state])
            guard updated.rowsAffected == 1 else { throw NodeRegistryError("node \(node) does not exist") }
            try EventRecorder.append(
                [(EventEnvelope(type: "node.\(state)", producer: actor, subjects: ["node": node], payload: ["node": .string(node)]), nil)],
                topology: topology, in: db)
            try SchedulerStore.wake(db)
        }
    }

    public struct PoolSummary: Sendable, Encodable {
        public var pool: String
        public var flavor: String
        public var nodes: Int
        public var ready: Int
        public var gpus: Int
        public var gpusAllocated: Int
        public var cpu: Int
        public var cpuAllocated: Int

        enum CodingKeys: String, CodingKey {
            case pool, flavor, nodes, ready, gpus, cpu
            case gpusAllocated = "gpus_allocated"
            case cpuAllocated = "cpu_allocated"
        }
    }

    public func pools() throws -> [PoolSummary] {
        try pool.withConnection { db in
            try db.query(
                """
                SELECT n.pool, n.flavor, count(*)::int, count(*) FILTER (WHERE n.state = 'ready')::int, sum(n.gpus)::int,
                       coalesce(sum(a.gpus), 0)::int, sum(n.cpu)::int, coalesce(sum(a.cpu), 0)::int
                FROM nodes n
                LEFT JOIN (SELECT node_id, sum(gpus) AS gpus, sum(cpu) AS cpu FROM allocations WHERE released_at IS NULL
                           GROUP BY node_id) a ON a.node_id = n.id
                GROUP BY n.pool, n.flavor ORDER BY n.pool
                """
            ).map {
                PoolSummary(
                    pool: try $0.decode(0), flavor: try $0.decode(1), nodes: try $0.decode(2), ready: try $0.decode(3),
                    gpus: try $0.decode(4), gpusAllocated: try $0.decode(5), cpu: try $0.decode(6), cpuAllocated: try $0.decode(7))
            }
        }
    }
}

public struct NodeRegistryError: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
