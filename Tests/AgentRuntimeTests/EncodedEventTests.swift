import AgentCore
import Foundation
import Testing

/// An event written once (EncodedEvent): its body is the envelope built value by value and
/// serialized as a JSON object, and its payload and subjects are those values as `serialized()`
/// writes them.
@Suite("Events encoded in one pass")
struct EncodedEventTests {
    static let envelopes: [EventEnvelope] = [
        EventEnvelope(type: "job.admitted", producer: "admission"),
        EventEnvelope(
            type: "job.scheduled", schemaVersion: 3, occurredAt: Date(timeIntervalSince1970: 1_795_298_100.123), producer: "scheduler",
            tenant: "acme \"quoted\"", subjects: ["job": "01a252c0-840a-7db6-8fa9-dd3bf07ab68b", "agent": "trainer@1.0", "node": "n\\1"],
            correlationID: UUID(), causationID: UUID(),
            payload: .object([
                "nodes": .array([.string("v100-0001"), .string("ünï\ncode")]), "gpus": .number(8), "cost": .number(4.96),
                "nested": .object(["b": .null, "a": .bool(true)]),
            ])),
        EventEnvelope(type: "alert.raised", producer: "health-checker", correlationID: UUID(), payload: .array([.number(-1), .string("")])),
        EventEnvelope(type: "x", producer: "p", tenant: "t", causationID: UUID(), payload: .string("tab\there")),
    ]

    @Test("Body, payload and subjects match the value-by-value serialization", arguments: envelopes)
    func matches(envelope: EventEnvelope) throws {
        let parts = envelope.encodedParts()
        #expect(parts.body == String(decoding: envelope.valueByValue.serialized(), as: UTF8.self))
        #expect(try envelope.encoded() == Data(parts.body.utf8))
        #expect(parts.payload == String(decoding: envelope.payload.serialized(), as: UTF8.self))
        #expect(parts.subjects == String(decoding: JSONValue.object(envelope.subjects.mapValues { .string($0) }).serialized(), as: UTF8.self))
        #expect(try EventEnvelope.decode(from: Data(parts.body.utf8)) == envelope.roundedToMilliseconds)
    }
}

extension EventEnvelope {
    /// The envelope as a JSON object, optional fields left out when absent (docs/events.md).
    fileprivate var valueByValue: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id.uppercaseText), "type": .string(type), "schema_version": .number(Double(schemaVersion)),
            "occurred_at": .string(ISO8601.string(from: occurredAt)), "producer": .string(producer),
            "subjects": .object(subjects.mapValues { .string($0) }), "payload": payload,
        ]
        if let tenant { object["tenant"] = .string(tenant) }
        if let correlationID { object["correlation_id"] = .string(correlationID.uppercaseText) }
        if let causationID { object["causation_id"] = .string(causationID.uppercaseText) }
        return .object(object)
    }

    /// Times travel with millisecond precision.
    fileprivate var roundedToMilliseconds: EventEnvelope {
        var copy = self
        copy.occurredAt = Date(timeIntervalSince1970: (occurredAt.timeIntervalSince1970 * 1000).rounded() / 1000)
        return copy
    }
}
