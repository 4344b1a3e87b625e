import AMQP
import Foundation
import Logging
import Postgres

/// Samples the gauges that cost a round trip (input queue depth, outbox backlog) every few
/// seconds, on its own connections, so scrapes never wait on the broker or the database.
final class MetricsSampler: Sendable {
    let amqpURL: AMQPURL
    /// The input's queues (its lanes); the depth is their sum.
    let queues: [String]
    let pool: PostgresPool
    let metrics: ConsumerMetrics
    let logger: Logger
    let interval: Duration

    init(amqpURL: AMQPURL, queues: [String], pool: PostgresPool, metrics: ConsumerMetrics, logger: Logger, interval: Duration = .seconds(5)) {
        self.amqpURL = amqpURL
        self.queues = queues
        self.pool = pool
        self.metrics = metrics
        self.logger = logger
        self.interval = interval
    }

    func run(until stop: StopSignal) {
        var connection: AMQPConnection?
        while !stop.isRequested {
            do {
                if connection?.isOpen != true { connection = try AMQPConnection(url: amqpURL) }
                metrics.queueDepth.set(try queues.reduce(0) { $0 + (try connection!.messageCount(queue: $1)) })
            } catch {
                connection = nil
            }
            if let backlog = try? pool.withConnection({ try $0.query("SELECT count(*) FROM outbox")[0].decode(0, as: Int.self) }) {
                metrics.outboxBacklog.set(backlog)
            }
            let deadline = ContinuousClock.now + interval
            while !stop.isRequested, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
        }
        connection?.close()
    }
}
