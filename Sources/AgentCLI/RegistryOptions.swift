import Admission
import AgentCore
import ArgumentParser
import Foundation
import Postgres
import SchedulerWorker

extension GlobalOptions {
    /// Runs `body` with a small connection pool; errors become one clear line.
    func withPool<T>(_ body: (PostgresPool, AgentConfig) throws -> T) throws -> T {
        let config = try load()
        let pool = PostgresPool(url: config.databaseURL, maxConnections: 2, applicationName: "agentctl")
        defer { pool.close() }
        return try failing { try body(pool, config) }
    }

    /// Who makes registry changes: `agentctl:<user>`.
    var actor: String {
        "agentctl:\(ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.userName)"
    }

    func withRegistry<T>(_ body: (Registry) throws -> T) throws -> T {
        try withPool { pool, config in try body(Registry(pool: pool, topology: Topology(prefix: config.topologyPrefix), actor: actor)) }
    }

    func withNodeRegistry<T>(_ body: (NodeRegistry) throws -> T) throws -> T {
        try withPool { pool, config in try body(NodeRegistry(pool: pool, topology: Topology(prefix: config.topologyPrefix), actor: actor)) }
    }

    func withDatabase<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withPool { pool, _ in try pool.withConnection(body) }
    }
}

/// `--tenant`, defaulting to AGENTMGR_TENANT.
struct TenantOption: ParsableArguments {
    @Option(help: "Tenant (default: $AGENTMGR_TENANT).")
    var tenant: String?

    func resolved() throws -> String {
        if let tenant { return tenant }
        if let tenant = ProcessInfo.processInfo.environment["AGENTMGR_TENANT"], !tenant.isEmpty { return tenant }
        throw ValidationError("give --tenant (or set AGENTMGR_TENANT)")
    }
}

extension Decimal: @retroactive ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = Decimal(string: argument, locale: Locale(identifier: "en_US_POSIX")), argument.first != "." else { return nil }
        self = value
    }
}

/// `name@version` on the command line.
struct AgentReference: ExpressibleByArgument {
    let name: String
    let version: String

    init?(argument: String) {
        let parts = argument.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        name = String(parts[0])
        version = String(parts[1])
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

func money(_ value: Decimal?) -> String {
    value.map { "$\($0.moneyText)" } ?? "unlimited"
}

func printJSON(_ value: some Encodable) throws {
    print(String(decoding: try JSONCoding.encoder.encode(value), as: UTF8.self))
}
