import AMQP
import Admission
import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres

/// A private world with the real catalog (config/flavors.json, config/cluster.json) and a few
/// tenants and agents, for admission tests against the real services.
public final class AdmissionWorld: @unchecked Sendable {
    public let env: RuntimeTestEnvironment
    public let registry: Registry

    public init() throws {
        env = try RuntimeTestEnvironment()
        registry = Registry(pool: env.pool, topology: env.topology, actor: "tests")
        var config = AgentConfig()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        config.flavorsFile = root.appendingPathComponent("config/flavors.json").path
        config.clusterFile = root.appendingPathComponent("config/cluster.json").path
        _ = try Catalog.sync(config: config, pool: env.pool)
        for queue in AdmissionHandler.inputQueue(env.topology).queueNames { env.track(queue: queue) }
        try seed()
    }

    public func close() {
        env.close()
    }

    private func seed() throws {
        try registry.createTenant("acme", weight: 2, cohort: "research", monthlyBudget: 20_000, totalBudget: 100_000)
        try registry.setQuota(tenant: "acme", flavor: "gpu-v100", nominal: 32, borrowingLimit: 16)
        try registry.setQuota(tenant: "acme", flavor: "gpu-v100m32", nominal: 2_000)
        try registry.createTenant("globex", cohort: "research", monthlyBudget: 500)
        try registry.setQuota(tenant: "globex", flavor: "gpu-v100", nominal: 16)
        try registry.setQuota(tenant: "globex", flavor: "cpu", nominal: 192)
        try registry.createTenant("initech")
        try registry.setQuota(tenant: "initech", flavor: "gpu-v100", nominal: 8)
        try registry.setActive(tenant: "initech", false)
        try registry.createTenant("bigco")
        try registry.setQuota(tenant: "bigco", flavor: "gpu-t4", nominal: 1_000_000)

        let v100 = ResourceOverrides(flavor: "gpu-v100", gpus: 1, cpu: 8, memoryGiB: 64)
        try registry.registerVersion(
            tenant: "acme", agent: "resnet-trainer", version: "1.0.0", image: "resnet:1.0.0", command: nil, framework: .pytorch,
            defaults: v100, checkpoints: true)
        try registry.deprecate(tenant: "acme", agent: "resnet-trainer", version: "1.0.0")
        try registry.registerVersion(
            tenant: "acme", agent: "resnet-trainer", version: "1.2.0", image: "resnet:1.2.0", command: nil, framework: .pytorch,
            defaults: v100, checkpoints: true)
        try registry.registerVersion(
            tenant: "acme", agent: "llm-pretrainer", version: "0.9.1", image: "llm:0.9.1", command: nil, framework: .jax,
            defaults: ResourceOverrides(flavor: "gpu-v100m32", gpus: 8, cpu: 64, memoryGiB: 320), checkpoints: true)
        try registry.registerVersion(
            tenant: "globex", agent: "gridworld-agent", version: "0.3.0", image: nil, command: "python3 train.py", framework: .custom,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 4, memoryGiB: 8), checkpoints: true)
        try registry.registerVersion(
            tenant: "globex", agent: "vision", version: "1.0", image: "vision:1.0", command: nil, framework: .pytorch,
            defaults: v100, checkpoints: false)
        try registry.registerVersion(
            tenant: "bigco", agent: "sweeper", version: "1", image: "sweeper:1", command: nil, framework: .custom,
            defaults: ResourceOverrides(flavor: "gpu-t4", gpus: 1, cpu: 2, memoryGiB: 4), checkpoints: false)
    }

    /// An admission consumer running in this process.
    public func startAdmission(batchSize: Int = 200, prefetch: Int = 500) -> BackgroundLoop {
        let loop = ConsumerLoop(
            settings: .init(
                consumerName: AdmissionHandler.workerName, queue: AdmissionHandler.inputQueue(env.topology), prefetch: prefetch,
                batchSize: batchSize),
            handler: AdmissionHandler(), amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: Logger(label: "admission"))
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "relay"))
        return BackgroundLoop { stop in
            let relayStop = StopSignal()
            let relaying = Thread { relay.run(until: relayStop) }
            relaying.start()
            loop.run(until: stop)
            relayStop.request()
            Thread.sleep(forTimeInterval: 0.5)
        }
    }

    public func client() throws -> SubmissionClient {
        try SubmissionClient(url: env.amqpURL, topology: env.topology)
    }

    /// A connection with publisher confirms, for tests that publish raw request messages.
    public func confirmedPublisher() throws -> AMQPConnection {
        let publisher = try AMQPConnection(url: env.amqpURL)
        try publisher.enableConfirms()
        return publisher
    }

    /// A JSON spec body from a dictionary literal.
    public static func body(_ fields: [String: Any]) -> Data {
        try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    }
}
