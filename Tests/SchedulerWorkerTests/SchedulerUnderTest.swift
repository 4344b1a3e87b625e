import AMQP
import AgentCore
import AgentRuntime
import AgentTestSupport
import Logging
import SchedulerWorker

/// A scheduler in this process against a test's private services: its queue declared first
/// (events published to the exchange before it exists are unroutable), its consumer, its decision
/// loop and an outbox relay. `stop()` stops them in reverse order.
final class SchedulerUnderTest {
    let metrics = SchedulerMetrics()
    private var loops: [BackgroundLoop] = []

    init(_ env: RuntimeTestEnvironment) throws {
        let queues = SchedulerHandler.inputQueues(env.topology)
        let declaring = try AMQPConnection(url: env.amqpURL)
        for queue in queues {
            env.track(queue: queue.name)
            try env.topology.declare(queue, on: declaring)
        }
        declaring.close()
        let logger = Logger(label: "scheduler")
        let consumers = queues.map { queue in
            ConsumerLoop(
                settings: .init(consumerName: SchedulerHandler.workerName, queue: queue), handler: SchedulerHandler(), amqpURL: env.amqpURL,
                pool: env.pool, topology: env.topology, logger: logger)
        }
        let deciding = SchedulingLoop(
            settings: .init(identity: "test-scheduler", refresh: .seconds(1)), databaseURL: env.databaseURL, pool: env.pool,
            topology: env.topology, logger: logger, metrics: metrics)
        let relay = OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: logger)
        loops = consumers.map { consumer in BackgroundLoop { consumer.run(until: $0) } }
            + [BackgroundLoop { deciding.run(until: $0) }, BackgroundLoop { relay.run(until: $0) }]
    }

    func stop() {
        for loop in loops.reversed() { _ = loop.stopAndJoin() }
        loops = []
    }

    /// An empty registry's minimum: flavor `cpu` ($0.04 per core-hour) and tenants with 1,000 cores of it.
    static func seedCPU(_ env: RuntimeTestEnvironment, tenants: [String]) throws {
        try env.pool.withConnection { db in
            try db.query("INSERT INTO flavors (name, quota_unit, price_per_unit_hour) VALUES ('cpu', 'cpu', 0.04) ON CONFLICT DO NOTHING")
            try db.query("INSERT INTO tenants (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", [tenants])
            try db.query(
                "INSERT INTO tenant_quotas (tenant, flavor, nominal) SELECT unnest($1::text[]), 'cpu', 1000 ON CONFLICT DO NOTHING", [tenants])
        }
    }
}
