import AMQP
import AgentCore
import Foundation
import Synchronization

/// Stands in for the node agents (issue 6) during a run: every job of the bench tenants that the
/// scheduler places "runs" for `runtime` seconds (0: forever), then its `job.finished` is
/// published, so the cluster's capacity turns over and a long run measures a steady state instead
/// of a cluster filling up. It follows `job.scheduled` and `job.pending` on its own server-named
/// queue, as a node agent would, and so also counts the jobs the scheduler has settled (placed,
/// or waiting with a reason) without polling the database.
final class Finisher: @unchecked Sendable {  // `stop` is the only state shared with the caller (a Mutex)
    private let url: AMQPURL
    private let topology: Topology
    private let tenants: Set<String>
    private let runtime: Double
    private let stopped = Mutex(false)
    private let finishedCount = Mutex(0)
    private let settledJobs = Mutex(Set<String>())
    /// When each job's `job.scheduled` reached this stand-in for its node agents (Unix seconds).
    private let placementsSeen = Mutex([String: Double]())
    private var thread: Thread?

    init(url: AMQPURL, topology: Topology, tenants: Set<String>, runtime: Double) {
        self.url = url
        self.topology = topology
        self.tenants = tenants
        self.runtime = runtime
    }

    var finished: Int { finishedCount.withLock { $0 } }
    /// Distinct jobs of the bench tenants placed or given a waiting reason since `start`.
    var settled: Int { settledJobs.withLock { $0.count } }
    /// Job id (lowercase) → when its placement arrived here, as a node agent would receive it.
    var placementArrivals: [String: Double] { placementsSeen.withLock { $0 } }

    /// Binds its queue before returning, so no placement made after `start` is missed.
    func start() throws {
        let consumer = try AMQPConnection(url: url)
        let queue = try consumer.declareExclusiveQueue()
        try consumer.bindQueue(queue, exchange: topology.eventsExchange, routingKey: "job.scheduled")
        try consumer.bindQueue(queue, exchange: topology.eventsExchange, routingKey: "job.pending")
        try consumer.setPrefetch(2_000)
        _ = try consumer.consume(queue: queue)
        let publisher = try AMQPConnection(url: url)
        try publisher.enableConfirms()
        let thread = Thread { [self] in
            defer {
                consumer.close()
                publisher.close()
            }
            do { try loop(consumer: consumer, publisher: publisher) } catch {
                FileHandle.standardError.write(Data("[e2e-bench] finisher stopped: \(error)\n".utf8))
            }
        }
        thread.name = "finisher"
        thread.start()
        self.thread = thread
    }

    func stop() {
        stopped.withLock { $0 = true }
    }

    private func loop(consumer: AMQPConnection, publisher: AMQPConnection) throws {
        var running: [(due: Date, jobID: String, tenant: String)] = []  // in placement order, so due order
        var next = 0
        while !stopped.withLock({ $0 }) {
            var lastTag: UInt64?
            while let delivery = try consumer.nextDelivery(timeout: .milliseconds(running.count > next ? 20 : 200)) {
                lastTag = delivery.deliveryTag
                let arrived = Date().timeIntervalSince1970
                for element in (try? EventBatch.split(delivery)) ?? [] {
                    guard let event = try? EventEnvelope.decode(from: element.body), let tenant = event.tenant,
                        tenants.contains(tenant), let jobID = event.subjects["job"]
                    else { continue }
                    settledJobs.withLock { _ = $0.insert(jobID) }
                    guard event.type == "job.scheduled" else { continue }
                    placementsSeen.withLock { seen in if seen[jobID.lowercased()] == nil { seen[jobID.lowercased()] = arrived } }
                    guard runtime > 0 else { continue }
                    running.append((Date().addingTimeInterval(runtime), jobID, tenant))
                }
                if running.count - next >= 2_000 { break }
            }
            if let lastTag { try consumer.ack(lastTag, multiple: true) }
            let now = Date()
            var due: [AMQPOutgoingMessage] = []
            while next < running.count, running[next].due <= now {
                let job = running[next]
                let event = EventEnvelope(
                    type: "job.finished", producer: "e2e-bench", tenant: job.tenant, subjects: ["job": job.jobID],
                    payload: .object(["job_id": .string(job.jobID), "outcome": .string("succeeded")]))
                due.append(
                    AMQPOutgoingMessage(
                        exchange: topology.eventsExchange, routingKey: "job.finished",
                        properties: AMQPProperties(
                            contentType: "application/json", messageID: event.id.uuidString.lowercased(), type: "job.finished",
                            appID: "e2e-bench"),
                        body: try event.encoded()))
                next += 1
            }
            if !due.isEmpty {
                try publisher.publish(due)
                finishedCount.withLock { $0 += due.count }
            }
            if next > 10_000 {
                running.removeFirst(next)
                next = 0
            }
        }
    }
}
