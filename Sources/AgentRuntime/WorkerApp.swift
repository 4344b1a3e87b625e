import AMQP
import AgentCore
import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// What a worker executable's `@main` calls: load configuration, migrate, then run the consumer
/// runtime with the worker's handler until SIGTERM or SIGINT. Exits 0 after a graceful drain.
public enum WorkerApp {
    public static func run<Handler: MessageHandler>(
        name: String, queue: InputQueue, handler: Handler, consumers: Int = 1, config: AgentConfig? = nil,
        metrics: ConsumerMetrics = ConsumerMetrics(),
        prepare: (PostgresPool, Logger) throws -> Void = { _, _ in },
        background: (PostgresPool, Logger) -> [BackgroundTask] = { _, _ in [] }
    ) async throws {
        try await run(
            name: name, queues: [queue], handler: handler, consumers: consumers, config: config, metrics: metrics, prepare: prepare,
            background: background)
    }

    /// A worker with several input queues: `consumers` consumer threads on each, so a queue of
    /// urgent messages is never held up behind a batch from another (the scheduler's admissions).
    public static func run<Handler: MessageHandler>(
        name: String, queues: [InputQueue], handler: Handler, consumers: Int = 1, config: AgentConfig? = nil,
        metrics: ConsumerMetrics = ConsumerMetrics(),
        prepare: (PostgresPool, Logger) throws -> Void = { _, _ in },
        background: (PostgresPool, Logger) -> [BackgroundTask] = { _, _ in [] }
    ) async throws {
        LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        var logger = Logger(label: name)
        let config = try config ?? AgentConfig.load()
        let amqpURL = try AMQPURL(parsing: config.amqpURL)
        let consumerCount = consumers * queues.count
        let pool = PostgresPool(url: config.databaseURL, maxConnections: config.databasePoolSize + consumerCount, applicationName: name)
        logger[metadataKey: "agentmgr.worker"] = .string(name)
        logger.info("starting", metadata: ["amqp": "\(amqpURL.redacted)", "consumers": "\(consumerCount)"])

        try migrateWhenReachable(pool, logger: logger)
        try prepare(pool, logger)

        let topology = Topology(prefix: config.topologyPrefix)
        let loops = queues.flatMap { queue in
            let settings = ConsumerLoop<Handler>.Settings(
                consumerName: name, queue: queue, prefetch: config.prefetch, batchSize: config.batchSize,
                maxAttempts: config.maxAttempts)
            return (0..<consumers).map { _ in
                ConsumerLoop(
                    settings: settings, handler: handler, amqpURL: amqpURL, pool: pool, topology: topology, metrics: metrics, logger: logger)
            }
        }
        let relay = OutboxRelay(
            amqpURL: amqpURL, databaseURL: config.databaseURL, pool: pool, metrics: metrics, worker: name, logger: logger)
        var tasks = background(pool, logger)
        tasks.append(WorkerHeartbeat(worker: name, pool: pool, interval: .seconds(5), logger: logger).task)
        if config.metricsPort > 0 {
            let server = MetricsServer(
                address: config.metricsAddress, port: config.metricsPort, logger: logger,
                metrics: { metrics.prometheusText(worker: name) }, healthy: { metrics.isAlive() })
            let sampler = MetricsSampler(amqpURL: amqpURL, queues: queues.flatMap(\.queueNames), pool: pool, metrics: metrics, logger: logger)
            tasks += [BackgroundTask(name: "metrics") { server.run(until: $0) }, BackgroundTask(name: "sampler") { sampler.run(until: $0) }]
        }
        let service = WorkerService(name: name, loops: loops, relay: relay, background: tasks, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        pool.close()
        logger.info(
            "stopped",
            metadata: [
                "consumed": "\(metrics.consumed.current)", "acked": "\(metrics.acked.current)",
                "dead_lettered": "\(metrics.deadLettered.current)", "published": "\(metrics.published.current)",
            ])
    }

    /// Workers may start before the database does: wait for it (with backoff, up to a minute).
    static func migrateWhenReachable(_ pool: PostgresPool, logger: Logger) throws {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                let applied = try Migrator.bundled().migrate(pool) { logger.info("\($0)") }
                if !applied.isEmpty { logger.info("migrations applied", metadata: ["versions": "\(applied)"]) }
                return
            } catch let error as PostgresError where error.isConnectionFailure && ContinuousClock.now < deadline {
                logger.warning("database unreachable, retrying", metadata: ["error": "\(error)"])
                sleep(backoff.next())
            }
        }
    }
}
