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
    public var correlationID: String?
    /// From the `x-submitted-at` header (ISO 8601), else the message timestamp, else arrival.
    public var submittedAt: Date

    /// Deduplicates deliveries: tenant, idempotency key and correlation id.
    var inboxKey: String { "\(spec.tenant)|\(idempotencyKey)|\(correlationID ?? "")" }

    /// Routing key for job submissions on the requests exchange.
    public static let routingKey = "job.submit"
    /// Header carrying the submit time with millisecond precision.
    public static let submittedAtHeader = "x-submitted-at"

    /// Reads a delivery; throws `MalformedRequest` for what can never be admitted.
    static func decode(_ delivery: AMQPDelivery) throws -> AdmissionRequest {
        let (spec, problems) = try decodeSpec(delivery.body)
        var allProblems = problems
        let messageID = delivery.properties.messageID.flatMap { $0.isEmpty ? nil : $0 }
        if let messageID, let key = spec.idempotencyKey, key != messageID {
            allProblems.append(
                FieldProblem(field: "idempotency_key", message: "must equal the message_id property (\(messageID)) when both are given, got \(key)"))
        }
        guard let key = messageID ?? spec.idempotencyKey else {
            throw MalformedRequest(problems: [
                FieldProblem(field: "(message_id)", message: "is required: the message_id property (or idempotency_key) is the request's idempotency key")
            ])
        }
        guard key.count <= 200 else {
            throw MalformedRequest(problems: [FieldProblem(field: "(message_id)", message: "must be at most 200 characters")])
        }
        return AdmissionRequest(
            spec: spec, problems: allProblems, idempotencyKey: key, replyTo: delivery.properties.replyTo,
            correlationID: delivery.properties.correlationID, submittedAt: submittedAt(delivery))
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
