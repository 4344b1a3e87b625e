import AMQP
import AgentCore
import Foundation
import Postgres

/// Publishes job requests to the requests exchange and collects the decisions from a private
/// reply queue: the client side of docs/amqp-contract.md (agentctl submit, tests, benchmarks).
public final class SubmissionClient {
    public struct Request: Sendable {
        public var body: Data
        public var idempotencyKey: String
        public var priority: PriorityClass
        public var correlationID: String
        /// Whether it may travel in a batch: its body is a JSON object carrying this
        /// `idempotency_key` (a batch has one message id, so each request's key is in its body).
        /// `init(json:)` works it out; whoever builds the body says so.
        public var isBatchable: Bool

        public init(
            body: Data, idempotencyKey: String, priority: PriorityClass, correlationID: String = UUID().lowercaseText,
            isBatchable: Bool = false
        ) {
            self.body = body
            self.idempotencyKey = idempotencyKey
            self.priority = priority
            self.correlationID = correlationID
            self.isBatchable = isBatchable
        }

        /// Takes the key and priority class from a JSON spec when present (the worker validates
        /// the rest); a new UUID becomes the key otherwise, written into a JSON object's body so
        /// the request can travel in a batch. A body that is not a JSON object goes as written.
        public init(json body: Data) {
            let value = try? JSONCoding.decoder.decode(JSONValue.self, from: body)
            var key = UUID().lowercaseText
            var priority = PriorityClass.normal
            var body = body
            var isBatchable = false
            if case .object(var fields)? = value {
                switch fields["idempotency_key"] {
                case .string(let given)? where !given.isEmpty:
                    key = given
                    isBatchable = true
                case nil:
                    fields["idempotency_key"] = .string(key)
                    body = Data(JSONValue.object(fields).serialized())
                    isBatchable = true
                default: break  // not a usable key: admission says what is wrong, alone
                }
            }
            if case .string(let name)? = value?["priority_class"], let known = PriorityClass(rawValue: name) { priority = known }
            self.init(body: body, idempotencyKey: key, priority: priority, isBatchable: isBatchable)
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

    /// Publishes every request (persistent, confirmed in windows) and returns once the broker has
    /// them, with the correlation id each request's decision will carry, in order.
    ///
    /// `batch` > 1 sends up to that many requests of one priority class as one message (docs/
    /// amqp-contract.md, "Batch submission"): the broker's and admission's cost is per message,
    /// so a client submitting many jobs at once should. Batched requests need a JSON object body
    /// with its own `idempotency_key` (`Request.isBatchable`); others go alone.
    @discardableResult
    public func publish(_ requests: [Request], withReplies: Bool = true, batch: Int = 1) throws -> [String] {
        let now = ISO8601.string(from: Date())
        var messages: [AMQPOutgoingMessage] = []
        var correlations = requests.map(\.correlationID)
        func properties(messageID: String, correlationID: String, priority: PriorityClass, headers: [String: AMQPFieldValue] = [:]) -> AMQPProperties {
            AMQPProperties(
                contentType: "application/json", messageID: messageID, correlationID: correlationID,
                replyTo: withReplies ? replyQueue : nil, type: "job.submit", appID: "agentctl",
                priority: priority.messagePriority, timestamp: UInt64(Date().timeIntervalSince1970),
                headers: headers.merging([AdmissionRequest.submittedAtHeader: .string(now)]) { $1 })
        }
        for group in Self.batches(requests, size: batch) {
            let first = requests[group[0]]
            let routingKey = AdmissionRequest.routingKey(for: first.priority)
            guard group.count > 1 else {
                messages.append(
                    AMQPOutgoingMessage(
                        exchange: topology.requestsExchange, routingKey: routingKey,
                        properties: properties(messageID: first.idempotencyKey, correlationID: first.correlationID, priority: first.priority),
                        body: first.body))
                continue
            }
            let correlation = UUID().lowercaseText
            var body = Data("[".utf8)
            for (position, index) in group.enumerated() {
                if position > 0 { body.append(UInt8(ascii: ",")) }
                body.append(requests[index].body)
                correlations[index] = "\(correlation)#\(position)"
            }
            body.append(UInt8(ascii: "]"))
            messages.append(
                AMQPOutgoingMessage(
                    exchange: topology.requestsExchange, routingKey: routingKey,
                    properties: properties(
                        messageID: "batch-\(correlation)", correlationID: correlation, priority: first.priority,
                        headers: [EventBatch.header: .string(String(group.count))]),
                    body: body))
        }
        try publisher.publish(messages)
        return correlations
    }

    /// Request indexes grouped into messages: up to `size` batchable requests of one priority
    /// class each, in order within a class; a request that cannot be batched alone.
    static func batches(_ requests: [Request], size: Int) -> [[Int]] {
        let size = min(max(size, 1), EventBatch.maxEvents)
        var groups: [[Int]] = []
        var open: [PriorityClass: Int] = [:]  // class -> index in groups of its unfilled batch
        for (index, request) in requests.enumerated() {
            guard size > 1, request.isBatchable else {
                groups.append([index])
                continue
            }
            if let slot = open[request.priority], groups[slot].count < size {
                groups[slot].append(index)
            } else {
                open[request.priority] = groups.count
                groups.append([index])
            }
        }
        return groups
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
