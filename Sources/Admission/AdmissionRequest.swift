import AMQP
import AgentCore
import AgentRuntime
import Foundation

/// A job request as it arrived on the requests queue.
public struct AdmissionRequest: Sendable {
    public var spec: JobSpec
    /// Violations that make it invalid (rejected with `invalid_spec`), if any.
    public var problems: [FieldProblem]
    /// The AMQP `message_id`, or the spec's `idempotency_key`.
    public var idempotencyKey: String
    public var replyTo: String?
    /// The message's correlation id, which the decision's event carries (a batch's, for a request
    /// of a batch: one id follows every request submitted together).
    public var correlationID: String?
    /// The correlation id of the reply: `correlationID`, and `<correlationID>#<index>` for a
    /// request of a batch, so the sender can tell the answers apart.
    public var replyCorrelationID: String? = nil
    /// From the `x-submitted-at` header (ISO 8601), else the message timestamp, else arrival.
    public var submittedAt: Date

    /// Deduplicates deliveries: tenant, idempotency key and correlation id, hashed from an
    /// unambiguous encoding (the parts are untrusted and may contain any character).
    var inboxKey: String {
        let parts = [spec.tenant, idempotencyKey, replyCorrelationID ?? ""].map { "\($0.utf8.count):\($0)" }
        return "request-" + StableID.hex(parts.joined())
    }

    /// Routing key for job submissions on the requests exchange; `routingKey(for:)` picks the lane.
    public static let routingKey = "job.submit"

    /// `job.submit.<class>`: the request goes to its priority class's lane.
    public static func routingKey(for priority: PriorityClass) -> String { "\(routingKey).\(priority.rawValue)" }
    /// Header carrying the submit time with millisecond precision.
    public static let submittedAtHeader = "x-submitted-at"

    /// Reads a delivery; throws `MalformedRequest` for what can never be admitted.
    static func decode(_ delivery: AMQPDelivery) throws -> AdmissionRequest {
        let (spec, problems) = try decodeSpec(delivery.body)
        var allProblems = problems
        // A request of a batch has only the batch's message id: its key is in its body.
        let messageID = batchIndex(delivery) == nil ? delivery.properties.messageID.flatMap { $0.isEmpty ? nil : $0 } : nil
        if let messageID, let key = spec.idempotencyKey, key != messageID {
            allProblems.append(
                FieldProblem(field: "idempotency_key", message: "must equal the message_id property (\(messageID)) when both are given, got \(key)"))
        }
        guard let key = messageID ?? spec.idempotencyKey else {
            if let index = batchIndex(delivery) {
                throw MalformedRequest(problems: [
                    FieldProblem(field: "idempotency_key", message: "is required in each request of a batch (request \(index) has none)")
                ])
            }
            throw MalformedRequest(problems: [
                FieldProblem(field: "(message_id)", message: "is required: the message_id property (or idempotency_key) is the request's idempotency key")
            ])
        }
        if let replyTo = delivery.properties.replyTo, !replyTo.isEmpty, !isAllowedReplyQueue(replyTo) {
            throw MalformedRequest(problems: [
                FieldProblem(
                    field: "(reply_to)",
                    message: "must be a server-named queue (amq.gen-…) or amq.rabbitmq.reply-to, got \(replyTo.prefix(80))")
            ])
        }
        guard key.count <= 200 else {
            throw MalformedRequest(problems: [FieldProblem(field: "(message_id)", message: "must be at most 200 characters")])
        }
        return AdmissionRequest(
            spec: spec, problems: allProblems, idempotencyKey: key, replyTo: delivery.properties.replyTo,
            correlationID: delivery.properties.correlationID, replyCorrelationID: replyCorrelationID(of: delivery),
            submittedAt: submittedAt(delivery))
    }

    /// The position of a request that came in a batch (`EventBatch.split`), nil for one sent alone.
    static func batchIndex(_ delivery: AMQPDelivery) -> Int? {
        switch delivery.properties.headers[EventBatch.indexHeader] {
        case .long(let index)?: return Int(index)
        case .string(let text)?: return Int(text)
        default: return nil
        }
    }

    /// The body's `idempotency_key` when it is a JSON object with one, however wrong the rest is.
    static func keyInBody(_ body: Data) -> String? {
        guard case .string(let key)? = (try? JSONCoding.decoder.decode(JSONValue.self, from: body))?["idempotency_key"], !key.isEmpty
        else { return nil }
        return key
    }

    /// The correlation id the request's reply carries: the message's, and for a request of a
    /// batch `<the batch's>#<index>`, so the sender can tell the answers apart
    /// (docs/amqp-contract.md, "Batch submission").
    static func replyCorrelationID(of delivery: AMQPDelivery) -> String? {
        guard let correlation = delivery.properties.correlationID, let index = batchIndex(delivery) else {
            return delivery.properties.correlationID
        }
        return "\(correlation)#\(index)"
    }

    /// Replies go through the default exchange, where the relay may write to any queue: only
    /// the requester's own server-named queues are accepted, never a worker's queue.
    static func isAllowedReplyQueue(_ name: String) -> Bool {
        name.hasPrefix("amq.gen-") || name.hasPrefix("amq.rabbitmq.reply-to")
    }

    static func decodeSpec(_ body: Data) throws -> (JobSpec, [FieldProblem]) {
        switch JobSpecDecoder.decode(body) {
        case .malformed(let problems):
            throw MalformedRequest(problems: problems)
        case .decoded(let spec, let problems):
            return (spec, problems)
        }
    }

    private static func submittedAt(_ delivery: AMQPDelivery) -> Date {
        if let text = delivery.properties.headers[submittedAtHeader]?.stringValue, let date = ISO8601.date(from: text) {
            return date
        }
        if let seconds = delivery.properties.timestamp { return Date(timeIntervalSince1970: Double(seconds)) }
        return Date()
    }
}

/// A request that is not JSON, has a field of the wrong type, or carries no idempotency key.
public struct MalformedRequest: Error, CustomStringConvertible {
    public let problems: [FieldProblem]
    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
