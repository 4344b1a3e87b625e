import Foundation
import Postgres

/// The envelope read from bytes through `JSONValue.parse` (and written by `encodedParts()`), not
/// Codable: every worker does this for every message, and Codable's generic containers were a
/// large share of a worker's CPU (issue 5). The wire format is the Codable one (docs/events.md).
extension EventEnvelope {
    init(parsing body: Data) throws(EnvelopeError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(body)
        } catch {
            throw EnvelopeError(field: nil, reason: "body is not valid JSON: \(error)")
        }
        guard case .object(let fields) = root else { throw EnvelopeError(field: nil, reason: "body must be a JSON object") }
        let reader = FieldReader(fields: fields)
        id = try reader.required(reader.uuid("id"), "id")
        type = try reader.required(reader.string("type"), "type")
        schemaVersion = try reader.required(reader.int("schema_version"), "schema_version")
        occurredAt = try reader.required(reader.date("occurred_at"), "occurred_at")
        producer = try reader.required(reader.string("producer"), "producer")
        tenant = try reader.string("tenant")
        subjects = try reader.stringMap("subjects") ?? [:]
        correlationID = try reader.uuid("correlation_id")
        causationID = try reader.uuid("causation_id")
        payload = fields["payload"].flatMap { $0 == .null ? nil : $0 } ?? .object([:])
    }
}

/// Typed reads of an envelope's fields; a wrong type or format names the field.
private struct FieldReader {
    let fields: [String: JSONValue]

    func required<T>(_ value: T?, _ key: String) throws(EnvelopeError) -> T {
        guard let value else { throw EnvelopeError(field: key, reason: "is required") }
        return value
    }

    func present(_ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(EnvelopeError) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let text) = value else { throw EnvelopeError(field: key, reason: "must be of type String") }
        return text
    }

    func int(_ key: String) throws(EnvelopeError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let number = value.integerValue else { throw EnvelopeError(field: key, reason: "must be of type Int") }
        return number
    }

    func uuid(_ key: String) throws(EnvelopeError) -> UUID? {
        guard let text = try string(key) else { return nil }
        guard let id = UUID(text: text) else { throw EnvelopeError(field: key, reason: "must be a UUID, got \"\(text.prefix(80))\"") }
        return id
    }

    func date(_ key: String) throws(EnvelopeError) -> Date? {
        guard let text = try string(key) else { return nil }
        guard let date = ISO8601.date(from: text) else {
            throw EnvelopeError(field: key, reason: "expected an ISO 8601 time such as 2026-11-24T21:55:00.123Z, got \(text.prefix(80))")
        }
        return date
    }

    func stringMap(_ key: String) throws(EnvelopeError) -> [String: String]? {
        guard let value = present(key) else { return nil }
        guard case .object(let members) = value else { throw EnvelopeError(field: key, reason: "must be of type Dictionary<String, String>") }
        var map: [String: String] = [:]
        for (name, member) in members {
            guard case .string(let text) = member else { throw EnvelopeError(field: "\(key).\(name)", reason: "must be of type String") }
            map[name] = text
        }
        return map
    }
}
