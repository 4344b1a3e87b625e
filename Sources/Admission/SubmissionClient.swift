import AMQP
import AgentCore
import Foundation

/// Publishes job requests to the requests exchange and collects the decisions from a private
/// reply queue: the client side of docs/amqp-contract.md (agentctl submit, tests, benchmarks).
public final class SubmissionClient {
    public struct Request: Sendable {
        public var body: Data
        public var idempotencyKey: String
        public var priority: PriorityClass
        public var correlationID: String

        public init(body: Data, idempotencyKey: String, priority: PriorityClass, correlationID: String = UUID().uuidString.lowercased()) {
            self.body = body
            self.idempotencyKey = idempotencyKey
            self.priority = priority
            self.correlationID = correlationID
        }

        /// Takes the key and priority class from a JSON spec when present (the worker validates
        /// the rest); a new UUID becomes the key otherwise.
        public init(json body: Data) {
            let value = try? JSONCoding.decoder.decode(JSONValue.self, from: body)
            var key = UUID().uuidString.lowercased()
            var priority = PriorityClass.normal
            if case .string(let given)? = value?["idempotency_key"], !given.isEmpty { key = given }
            if case .string(let name)? = value?["priority_class"], let known = PriorityClass(rawValue: name) { priority = known }
            self.init(body: body, idempotencyKey: key, priority: priority)
        }
    }

    let publisher: AMQPConnection
    let replies: AMQPConnection
    let topology: Topology
    public let replyQueue: String

    public init(url: AMQPURL, topology: Topology) throws {
        self.topology = topology
        publisher = try AMQPConnection(url: url)
        try publisher.enableConfirms()
        // Declaring the queue here means requests sent before the first admission worker starts wait for it.
        try topology.declare(AdmissionHandler.inputQueue(topology), on: publisher)
        replies = try AMQPConnection(url: url)
        replyQueue = try replies.declareExclusiveQueue()
        try replies.setPrefetch(1_000)
        try replies.consume(queue: replyQueue)
    }

    deinit {
        publisher.close()
        replies.close()
    }

    /// Publishes every request (persistent, confirmed in windows) and returns once the broker has them.
    public func publish(_ requests: [Request], withReplies: Bool = true) throws {
        let now = ISO8601.string(from: Date())
        try publisher.publish(
            requests.map { request in
                AMQPOutgoingMessage(
                    exchange: topology.requestsExchange, routingKey: AdmissionRequest.routingKey(for: request.priority),
                    properties: AMQPProperties(
                        contentType: "application/json", messageID: request.idempotencyKey, correlationID: request.correlationID,
                        replyTo: withReplies ? replyQueue : nil, type: "job.submit", appID: "agentctl",
                        priority: request.priority.messagePriority, timestamp: UInt64(Date().timeIntervalSince1970),
                        headers: [AdmissionRequest.submittedAtHeader: .string(now)]),
                    body: request.body)
            })
    }

    /// Waits for one decision per correlation id; returns what arrived by the deadline. Replies
    /// carry a stable message id, so a reply delivered twice is counted once.
    public func awaitDecisions(
        for correlationIDs: Set<String>, timeout: Duration, progress: (Int) -> Void = { _ in }
    ) throws -> [String: AdmissionReply] {
        var decisions: [String: AdmissionReply] = [:]
        let deadline = ContinuousClock.now + timeout
        while decisions.count < correlationIDs.count, ContinuousClock.now < deadline {
            guard let delivery = try replies.nextDelivery(timeout: .milliseconds(200)) else { continue }
            try replies.ack(delivery.deliveryTag)
            guard let correlation = delivery.properties.correlationID, correlationIDs.contains(correlation),
                let reply = try? JSONCoding.decoder.decode(AdmissionReply.self, from: delivery.body)
            else { continue }
            if decisions.updateValue(reply, forKey: correlation) == nil { progress(decisions.count) }
        }
        return decisions
    }

    /// Every reply delivery as it came (tests count duplicates with it).
    public func nextReply(timeout: Duration) throws -> AMQPDelivery? {
        guard let delivery = try replies.nextDelivery(timeout: timeout) else { return nil }
        try replies.ack(delivery.deliveryTag)
        return delivery
    }
}
