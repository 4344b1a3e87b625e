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
    /// The worker this relay runs in: it wakes for that worker's rows and for rows any relay may
    /// take (producers without a relay of their own), and leaves other workers' rows to their
    /// relays (it still takes them at its next poll, should their relays be down). Nil: it wakes
    /// for every row.
    let worker: String?

    public init(
        amqpURL: AMQPURL, databaseURL: String, pool: PostgresPool, batchSize: Int = 500,
        metrics: ConsumerMetrics = ConsumerMetrics(), worker: String? = nil, logger: Logger
    ) {
        self.amqpURL = amqpURL
        self.databaseURL = databaseURL
        self.pool = pool
        self.batchSize = batchSize
        self.metrics = metrics
        self.worker = worker
        self.logger = logger
    }

    /// Whether a notification (its payload: the worker whose relay should publish the new rows,
    /// empty for any) is for this relay.
    func wakes(for payload: String) -> Bool {
        guard let worker else { return true }
        return payload.isEmpty || payload == worker
    }

    /// Waits up to `timeout` for a notification this relay wakes for.
    private func waitForRows(on listener: PostgresConnection, timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let notification = try listener.nextNotification(timeout: deadline - ContinuousClock.now) else { return }
            if wakes(for: notification.payload) { return }
        }
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
                if relayed == 0 && stop.isRequested { break }
                // A batch short of the limit took every row committed and not held by another
                // relay: wait for the next commit's notification (or poll in 200 ms) rather than
                // look again at once. At shutdown, drain until nothing is left.
                if relayed < batchSize && !stop.isRequested {
                    publisher!.serviceHeartbeats()
                    try waitForRows(on: listener!, timeout: .milliseconds(200))
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
