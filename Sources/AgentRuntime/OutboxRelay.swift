import AMQP
import AgentCore
import Foundation
import Logging
import Postgres

/// Publishes committed outbox rows with publisher confirms and deletes them once confirmed, in
/// the transaction that locked them. Several relays (one per worker replica) share the table:
/// `SKIP LOCKED` gives each its own rows. A crash after publishing and before commit publishes
/// again, which the consumers' inboxes make harmless.
public final class OutboxRelay: Sendable {
    let amqpURL: AMQPURL
    let databaseURL: String
    let pool: PostgresPool
    let batchSize: Int
    let metrics: ConsumerMetrics
    let logger: Logger

    public init(
        amqpURL: AMQPURL, databaseURL: String, pool: PostgresPool, batchSize: Int = 500,
        metrics: ConsumerMetrics = ConsumerMetrics(), logger: Logger
    ) {
        self.amqpURL = amqpURL
        self.databaseURL = databaseURL
        self.pool = pool
        self.batchSize = batchSize
        self.metrics = metrics
        self.logger = logger
    }

    /// Relays until `stop` is requested and the outbox is empty of what this relay can take.
    public func run(until stop: StopSignal) {
        var backoff = Backoff()
        var publisher: AMQPConnection?
        var listener: PostgresConnection?
        var stopSeenAt: ContinuousClock.Instant?
        while true {
            // At shutdown, publish what is there, but do not chase other replicas' new rows forever.
            if stop.isRequested {
                if stopSeenAt == nil { stopSeenAt = .now }
                if ContinuousClock.now - stopSeenAt! > .seconds(10) {
                    logger.warning("outbox relay stopping with rows left; another replica or the next start publishes them")
                    break
                }
            }
            do {
                if publisher == nil || publisher?.isOpen == false {
                    publisher = try AMQPConnection.connect(url: amqpURL, shouldStop: { stop.isRequested })
                    try publisher!.enableConfirms()
                }
                if listener == nil || listener?.isBroken == true {
                    let connection = try PostgresConnection(url: databaseURL, applicationName: "agentmgr-outbox-listener")
                    try connection.execute(script: "LISTEN agentmgr_outbox")  // = OutboxStore.notifyChannel
                    listener = connection
                }
                let relayed = try relayBatch(with: publisher!)
                backoff.reset()
                if relayed == 0 {
                    if stop.isRequested { break }
                    publisher!.serviceHeartbeats()
                    _ = try listener!.waitForNotification(timeout: .milliseconds(200))
                }
            } catch {
                let delay = backoff.next()
                logger.warning("outbox relay interrupted, retrying", metadata: ["error": "\(error)"])
                metrics.reconnects.add(1)
                publisher?.close()
                publisher = nil
                listener = nil
                if stop.isRequested && backoff.attempt > 5 {
                    logger.error("outbox relay giving up at shutdown; unsent rows stay in the outbox for the next start")
                    break
                }
                sleep(delay)
            }
        }
        publisher?.close()
        logger.info("outbox relay stopped")
    }

    /// Publishes one batch; returns how many rows it sent.
    func relayBatch(with publisher: AMQPConnection) throws -> Int {
        try pool.transaction { db in
            let rows = try OutboxStore.take(limit: batchSize, in: db)
            guard !rows.isEmpty else { return 0 }
            // A message AMQP cannot carry would fail every retry and hold back all behind it: set it aside.
            var sendable: [AMQPOutgoingMessage] = []
            for row in rows {
                let message = row.message.amqpMessage
                if let problem = message.validationError {
                    try OutboxStore.quarantine(row, reason: problem, in: db)
                    logger.error("outbox message cannot be published; moved to outbox_failed", metadata: ["seq": "\(row.seq)", "reason": "\(problem)"])
                } else {
                    sendable.append(message)
                }
            }
            try publisher.publish(sendable)
            metrics.published.add(sendable.count)
            return rows.count
        }
    }
}
