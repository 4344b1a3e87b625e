import AgentCore
import Foundation
import Postgres

/// A resource flavor: what quotas and prices count, and the price.
public struct Flavor: Sendable, Equatable, Codable {
    public enum QuotaUnit: String, Sendable, Codable {
        case gpu, cpu
    }

    public var name: String
    public var description: String
    public var gpuType: String?
    public var quotaUnit: QuotaUnit
    public var pricePerUnitHour: Decimal
    /// Fraction taken off the price for the batch priority class.
    public var batchDiscount: Decimal

    public init(
        name: String, description: String = "", gpuType: String? = nil, quotaUnit: QuotaUnit, pricePerUnitHour: Decimal,
        batchDiscount: Decimal = 0
    ) {
        self.name = name
        self.description = description
        self.gpuType = gpuType
        self.quotaUnit = quotaUnit
        self.pricePerUnitHour = pricePerUnitHour
        self.batchDiscount = batchDiscount
    }

    /// Quota units one replica of `resources` uses: its GPUs, or its cores on a CPU flavor.
    public func units(of resources: Resources) -> Int {
        quotaUnit == .gpu ? resources.gpus : resources.cpu
    }

    public var unitName: String { quotaUnit == .gpu ? "GPU" : "core" }

    enum CodingKeys: String, CodingKey {
        case name, description
        case gpuType = "gpu_type"
        case quotaUnit = "quota_unit"
        case pricePerUnitHour = "price_per_unit_hour"
        case batchDiscount = "batch_discount"
    }
}

/// A set of identical nodes of one flavor.
public struct NodePool: Sendable, Equatable, Codable {
    public var name: String
    public var flavor: String
    public var nodes: Int
    public var gpus: Int
    public var cpu: Int
    public var memoryGiB: Int

    public init(name: String, flavor: String, nodes: Int, gpus: Int, cpu: Int, memoryGiB: Int) {
        self.name = name
        self.flavor = flavor
        self.nodes = nodes
        self.gpus = gpus
        self.cpu = cpu
        self.memoryGiB = memoryGiB
    }

    /// How many replicas of `resources` one node of this pool can hold (0 if one does not fit).
    public func replicasPerNode(_ resources: Resources) -> Int {
        guard resources.gpus <= gpus, resources.cpu <= cpu, resources.memoryGiB <= memoryGiB else { return 0 }
        var fit = Int.max
        if resources.gpus > 0 { fit = min(fit, gpus / resources.gpus) }
        fit = min(fit, cpu / max(resources.cpu, 1), memoryGiB / max(resources.memoryGiB, 1))
        return fit
    }

    enum CodingKeys: String, CodingKey {
        case name, flavor, nodes, gpus, cpu
        case memoryGiB = "memory_gib"
    }
}

/// Flavors and node pools, read from `config/flavors.json` and `config/cluster.json` and kept in
/// the admission tables.
public struct Catalog: Sendable, Equatable {
    public var flavors: [Flavor]
    public var pools: [NodePool]

    public init(flavors: [Flavor], pools: [NodePool]) {
        self.flavors = flavors
        self.pools = pools
    }

    public struct FileError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// Reads both files; every problem names the file and the entry.
    public static func load(flavorsFile: String, clusterFile: String) throws -> Catalog {
        struct FlavorsDocument: Decodable { var flavors: [Flavor] }
        struct ClusterDocument: Decodable { var pools: [NodePool] }
        func read<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw FileError(path: path, reason: "file not found (working directory \(FileManager.default.currentDirectoryPath))")
            }
            do {
                return try JSONDecoder().decode(T.self, from: data)
            } catch {
                throw FileError(path: path, reason: "not valid: \(error)")
            }
        }
        let catalog = Catalog(
            flavors: try read(FlavorsDocument.self, flavorsFile).flavors, pools: try read(ClusterDocument.self, clusterFile).pools)
        let names = Set(catalog.flavors.map(\.name))
        for pool in catalog.pools where !names.contains(pool.flavor) {
            throw FileError(path: clusterFile, reason: "pool \(pool.name) names flavor \(pool.flavor), which \(flavorsFile) does not define")
        }
        for flavor in catalog.flavors where flavor.pricePerUnitHour < 0 || flavor.batchDiscount < 0 || flavor.batchDiscount >= 1 {
            throw FileError(path: flavorsFile, reason: "flavor \(flavor.name): price must be ≥ 0 and batch_discount in [0, 1)")
        }
        return catalog
    }

    /// Makes the tables match this catalog (flavors are upserted, never deleted: jobs refer to them).
    public func store(in db: PostgresConnection) throws {
        for flavor in flavors {
            try db.query(
                """
                INSERT INTO flavors (name, description, gpu_type, quota_unit, price_per_unit_hour, batch_discount)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, gpu_type = EXCLUDED.gpu_type,
                    quota_unit = EXCLUDED.quota_unit, price_per_unit_hour = EXCLUDED.price_per_unit_hour,
                    batch_discount = EXCLUDED.batch_discount
                """,
                [flavor.name, flavor.description, flavor.gpuType, flavor.quotaUnit.rawValue, flavor.pricePerUnitHour, flavor.batchDiscount])
        }
        try db.query("DELETE FROM flavor_pools WHERE NOT (pool = ANY($1::text[]))", [pools.map(\.name)])
        for pool in pools {
            try db.query(
                """
                INSERT INTO flavor_pools (pool, flavor, nodes, gpus, cpu, memory_gib) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (pool) DO UPDATE SET flavor = EXCLUDED.flavor, nodes = EXCLUDED.nodes, gpus = EXCLUDED.gpus,
                    cpu = EXCLUDED.cpu, memory_gib = EXCLUDED.memory_gib, updated_at = now()
                """, [pool.name, pool.flavor, pool.nodes, pool.gpus, pool.cpu, pool.memoryGiB])
        }
    }

    /// The catalog as the admission tables hold it.
    public static func read(from db: PostgresConnection) throws -> Catalog {
        let flavors = try db.query(
            "SELECT name, description, gpu_type, quota_unit, price_per_unit_hour, batch_discount FROM flavors ORDER BY name"
        ).map { row in
            Flavor(
                name: try row.decode(0), description: try row.decode(1), gpuType: try row.decodeIfPresent(2, as: String.self),
                quotaUnit: Flavor.QuotaUnit(rawValue: try row.decode(3)) ?? .gpu, pricePerUnitHour: try row.decode(4),
                batchDiscount: try row.decode(5))
        }
        let pools = try db.query("SELECT pool, flavor, nodes, gpus, cpu, memory_gib FROM flavor_pools ORDER BY pool").map { row in
            NodePool(
                name: try row.decode(0), flavor: try row.decode(1), nodes: try row.decode(2), gpus: try row.decode(3),
                cpu: try row.decode(4), memoryGiB: try row.decode(5))
        }
        return Catalog(flavors: flavors, pools: pools)
    }

    public func flavor(named name: String) -> Flavor? {
        flavors.first { $0.name == name }
    }

    public func pools(of flavor: String) -> [NodePool] {
        pools.filter { $0.flavor == flavor }
    }
}
