import Foundation

/// What every executable needs to reach the broker and the database, and how its consumer runs.
/// Read from a JSON file (default `config/agentmgr.json`, or `AGENTMGR_CONFIG`), then overridden
/// by `AGENTMGR_AMQP_URL` and `AGENTMGR_DATABASE_URL`.
public struct AgentConfig: Sendable, Equatable {
    public var amqpURL: String
    public var databaseURL: String
    /// Exchange and queue name prefix.
    public var topologyPrefix: String
    /// Unacknowledged messages the broker may push to one consumer.
    public var prefetch: Int
    /// Most messages handled in one database transaction.
    public var batchSize: Int
    /// Handler failures before a message is dead-lettered.
    public var maxAttempts: Int
    /// Database connections per process.
    public var databasePoolSize: Int
    /// Port of the Prometheus `/metrics` and `/healthz` endpoint; 0 turns it off.
    public var metricsPort: Int = 0
    /// Address it listens on (0.0.0.0 in containers, so the scraper can reach it).
    public var metricsAddress: String = "127.0.0.1"
    /// Resource flavors and simulated node pools (read by admission at start).
    public var flavorsFile: String = "config/flavors.json"
    public var clusterFile: String = "config/cluster.json"

    public init(
        amqpURL: String = "amqp://agentmgr@127.0.0.1:35672/agentmgr",
        databaseURL: String = "postgresql://agentmgr@127.0.0.1:35432/agentmgr", topologyPrefix: String = "agentmgr",
        prefetch: Int = 500, batchSize: Int = 200, maxAttempts: Int = 5, databasePoolSize: Int = 4
    ) {
        self.amqpURL = amqpURL
        self.databaseURL = databaseURL
        self.topologyPrefix = topologyPrefix
        self.prefetch = prefetch
        self.batchSize = batchSize
        self.maxAttempts = maxAttempts
        self.databasePoolSize = databasePoolSize
    }

    /// Loads the file (if present) and applies environment overrides.
    public static func load(
        path explicitPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AgentConfig {
        var config = AgentConfig()
        let path = explicitPath ?? environment["AGENTMGR_CONFIG"] ?? "config/agentmgr.json"
        if FileManager.default.fileExists(atPath: path) {
            config = try AgentConfig(jsonFile: path)
        } else if explicitPath != nil || environment["AGENTMGR_CONFIG"] != nil {
            throw ConfigError(path: path, reason: "file not found")
        }
        if let url = environment["AGENTMGR_AMQP_URL"], !url.isEmpty { config.amqpURL = url }
        if let url = environment["AGENTMGR_DATABASE_URL"], !url.isEmpty { config.databaseURL = url }
        if let prefix = environment["AGENTMGR_TOPOLOGY_PREFIX"], !prefix.isEmpty { config.topologyPrefix = prefix }
        if let file = environment["AGENTMGR_FLAVORS_FILE"], !file.isEmpty { config.flavorsFile = file }
        if let file = environment["AGENTMGR_CLUSTER_FILE"], !file.isEmpty { config.clusterFile = file }
        try override(&config.metricsPort, "AGENTMGR_METRICS_PORT", 0...65_535, environment)
        if let address = environment["AGENTMGR_METRICS_ADDRESS"], !address.isEmpty { config.metricsAddress = address }
        try override(&config.prefetch, "AGENTMGR_PREFETCH", 1...65_535, environment)
        try override(&config.batchSize, "AGENTMGR_BATCH_SIZE", 1...100_000, environment)
        try override(&config.maxAttempts, "AGENTMGR_MAX_ATTEMPTS", 1...1_000, environment)
        return config
    }

    private static func override(
        _ value: inout Int, _ name: String, _ range: ClosedRange<Int>, _ environment: [String: String]
    ) throws {
        guard let text = environment[name], !text.isEmpty else { return }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigError(path: name, reason: "must be an integer in \(range.lowerBound)...\(range.upperBound), got \(text)")
        }
        value = number
    }

    init(jsonFile path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw ConfigError(path: path, reason: "not valid: \(error)")
        }
        self.init()
        if let value = file.amqp_url { amqpURL = value }
        if let value = file.database_url { databaseURL = value }
        if let value = file.topology_prefix { topologyPrefix = value }
        if let value = file.flavors_file { flavorsFile = value }
        if let value = file.metrics_port {
            guard (0...65_535).contains(value) else { throw ConfigError(path: path, reason: "metrics_port must be 0...65535") }
            metricsPort = value
        }
        if let value = file.metrics_address { metricsAddress = value }
        if let value = file.cluster_file { clusterFile = value }
        if let value = file.consumer?.prefetch {
            guard (1...65_535).contains(value) else { throw ConfigError(path: path, reason: "consumer.prefetch must be 1...65535") }
            prefetch = value
        }
        if let value = file.consumer?.batch_size {
            guard value >= 1 else { throw ConfigError(path: path, reason: "consumer.batch_size must be at least 1") }
            batchSize = value
        }
        if let value = file.consumer?.max_attempts {
            guard value >= 1 else { throw ConfigError(path: path, reason: "consumer.max_attempts must be at least 1") }
            maxAttempts = value
        }
        if let value = file.database_pool_size {
            guard value >= 1 else { throw ConfigError(path: path, reason: "database_pool_size must be at least 1") }
            databasePoolSize = value
        }
    }

    /// The file's shape; keys are documented in config/README.md.
    private struct File: Decodable {
        struct Consumer: Decodable {
            var prefetch: Int?
            var batch_size: Int?
            var max_attempts: Int?
        }
        var amqp_url: String?
        var database_url: String?
        var topology_prefix: String?
        var flavors_file: String?
        var metrics_port: Int?
        var metrics_address: String?
        var cluster_file: String?
        var database_pool_size: Int?
        var consumer: Consumer?
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "configuration \(path): \(reason)" }
}
