import AgentCore
import Logging
import Postgres

extension Catalog {
    /// Loads the configured flavor and cluster files into the admission tables.
    public static func sync(config: AgentConfig, pool: PostgresPool, logger: Logger? = nil) throws -> Catalog {
        let catalog = try Catalog.load(flavorsFile: config.flavorsFile, clusterFile: config.clusterFile)
        try pool.transaction { try catalog.store(in: $0) }
        logger?.info(
            "catalog loaded",
            metadata: ["flavors": "\(catalog.flavors.count)", "pools": "\(catalog.pools.count)", "nodes": "\(catalog.pools.reduce(0) { $0 + $1.nodes })"])
        return catalog
    }
}
