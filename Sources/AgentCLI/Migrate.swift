import Admission
import AgentCore
import ArgumentParser
import Postgres

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the database migrations that are missing, then load the flavor and node-pool catalog from the configuration (safe to run any number of times).")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let config = try options.load()
        try failing {
            let pool = PostgresPool(url: config.databaseURL, maxConnections: 1, applicationName: "agentctl")
            defer { pool.close() }
            let migrator = try Migrator.bundled()
            let applied = try migrator.migrate(pool) { print($0) }
            let latest = migrator.migrations.last.map(\.id) ?? "none"
            print(applied.isEmpty ? "database is up to date (latest migration \(latest))" : "applied \(applied.count) migration(s); latest \(latest)")
            // The admission worker loads it too at start; loading it here lets a fresh installation
            // register agents and nodes before any worker has run.
            let catalog = try Catalog.sync(config: config, pool: pool)
            print("catalog: \(catalog.flavors.count) flavors, \(catalog.pools.count) node pools (\(config.flavorsFile), \(config.clusterFile))")
        }
    }
}
