import Foundation

/// The one envelope every message between AgentManager's workers travels in (see docs/events.md).
public struct EventEnvelope: Sendable, Equatable, Codable {
    /// Unique per event; also the AMQP `message_id`, so consumers deduplicate on it.
    public var id: UUID
    /// Dotted name such as `job.admitted`; also the routing key on the events exchange.
    public var type: String
    /// Version of the payload's shape for this type; bumped on incompatible changes.
    public var schemaVersion: Int
    public var occurredAt: Date
    /// The component that emitted it, e.g. `admission` or `agentctl`.
    public var producer: String
    public var tenant: String?
    /// Ids of the things the event is about, by kind: `{"job": "...", "agent": "..."}`.
    public var subjects: [String: String]
    /// Shared by every event of one user request, from submission to the last consequence.
    public var correlationID: UUID?
    /// The id of the event that directly caused this one.
    public var causationID: UUID?
    public var payload: JSONValue

    public init(
        id: UUID = .timeOrdered(), type: String, schemaVersion: Int = 1, occurredAt: Date = Date(), producer: String,
        tenant: String? = nil, subjects: [String: String] = [:], correlationID: UUID? = nil,
        causationID: UUID? = nil, payload: JSONValue = .object([:])
    ) {
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.occurredAt = occurredAt
        self.producer = producer
        self.tenant = tenant
        self.subjects = subjects
        self.correlationID = correlationID
        self.causationID = causationID
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey {
        case id, type, producer, tenant, subjects, payload
        case schemaVersion = "schema_version"
        case occurredAt = "occurred_at"
        case correlationID = "correlation_id"
        case causationID = "causation_id"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(UUID.self, forKey: .id)
        type = try c.decode(String.self, forKey: .type)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        occurredAt = try c.decode(Date.self, forKey: .occurredAt)
        producer = try c.decode(String.self, forKey: .producer)
        tenant = try c.decodeIfPresent(String.self, forKey: .tenant)
        subjects = try c.decodeIfPresent([String: String].self, forKey: .subjects) ?? [:]
        correlationID = try c.decodeIfPresent(UUID.self, forKey: .correlationID)
        causationID = try c.decodeIfPresent(UUID.self, forKey: .causationID)
        payload = try c.decodeIfPresent(JSONValue.self, forKey: .payload) ?? .object([:])
    }

    /// A new event caused by this one: same tenant and correlation, causation pointing here.
    public func consequence(
        type: String, producer: String, payload: JSONValue, subjects: [String: String]? = nil, schemaVersion: Int = 1
    ) -> EventEnvelope {
        EventEnvelope(
            type: type, schemaVersion: schemaVersion, producer: producer, tenant: tenant,
            subjects: subjects ?? self.subjects, correlationID: correlationID ?? id, causationID: id, payload: payload)
    }
}

extension EventEnvelope {
    /// Decodes and validates an envelope from a message body. The error names the field at fault.
    public static func decode(from body: Data) throws(EnvelopeError) -> EventEnvelope {
        let envelope = try EventEnvelope(parsing: body)
        try envelope.validate()
        return envelope
    }

    public func validate() throws(EnvelopeError) {
        if type.isEmpty || type.count > 200 || !type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" }) {
            throw EnvelopeError(field: "type", reason: "must be 1-200 letters, digits, '.', '_' or '-', got \"\(type)\"")
        }
        if schemaVersion < 1 { throw EnvelopeError(field: "schema_version", reason: "must be at least 1, got \(schemaVersion)") }
        if producer.isEmpty { throw EnvelopeError(field: "producer", reason: "must not be empty") }
    }

    /// The JSON body as published (``encodedParts()``'s body).
    public func encoded() throws -> Data {
        Data(encodedParts().body.utf8)
    }
}

/// Why a message body is not a valid envelope.
public struct EnvelopeError: Error, CustomStringConvertible, Sendable {
    public let field: String?
    public let reason: String

    public init(field: String?, reason: String) {
        self.field = field
        self.reason = reason
    }

    init(decodingError: DecodingError) {
        func path(_ codingPath: [CodingKey]) -> String? {
            codingPath.isEmpty ? nil : codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch decodingError {
        case .keyNotFound(let key, let context):
            self.init(field: path(context.codingPath + [key]), reason: "is required")
        case .typeMismatch(let type, let context):
            self.init(field: path(context.codingPath), reason: "must be of type \(type)")
        case .valueNotFound(let type, let context):
            self.init(field: path(context.codingPath), reason: "must be a \(type), not null")
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            self.init(field: path(context.codingPath), reason: underlying ?? context.debugDescription)
        @unknown default:
            self.init(field: nil, reason: "\(decodingError)")
        }
    }

    public var description: String {
        if let field { return "invalid envelope: \(field) \(reason)" }
        return "invalid envelope: \(reason)"
    }
}
