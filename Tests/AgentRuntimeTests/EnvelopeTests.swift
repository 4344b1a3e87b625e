import AgentTestSupport
import AgentCore
import Foundation
import Testing

@Suite("Event envelope")
struct EnvelopeTests {
    @Test("An envelope survives encoding and decoding unchanged")
    func roundTrip() throws {
        let envelope = EventEnvelope(
            type: "job.admitted", producer: "admission", tenant: "acme", subjects: ["job": "j-1"],
            correlationID: UUID(), causationID: UUID(), payload: .object(["gpus": .number(8), "ok": .bool(true)]))
        let decoded = try EventEnvelope.decode(from: try envelope.encoded())
        #expect(decoded.id == envelope.id)
        #expect(decoded.payload == envelope.payload)
        #expect(decoded.subjects == envelope.subjects)
        #expect(abs(decoded.occurredAt.timeIntervalSince(envelope.occurredAt)) < 0.001)
    }

    @Test("Event ids are version 7 UUIDs: they carry their millisecond and sort by it")
    func timeOrderedIDs() throws {
        let start = Date(timeIntervalSince1970: 1_795_000_000.5)
        let ids = (0..<50).map { UUID.timeOrdered(at: start.addingTimeInterval(Double($0) * 0.25)) }
        for id in ids {
            let text = id.uuidString.lowercased()
            #expect(Array(text)[14] == "7")  // version
            #expect("89ab".contains(Array(text)[19]))  // variant 10
        }
        #expect(ids.map { $0.uuidString } == ids.map { $0.uuidString }.sorted())
        let milliseconds = withUnsafeBytes(of: ids[0].uuid) { bytes in bytes.prefix(6).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        #expect(milliseconds == 1_795_000_000_500)
        #expect(Set((0..<1_000).map { _ in UUID.timeOrdered(at: start) }).count == 1_000)
        let envelope = EventEnvelope(type: "a.b", producer: "p")
        #expect(Array(envelope.id.uuidString)[14] == "7")
    }

    @Test("The wire format uses the documented snake_case keys")
    func wireKeys() throws {
        let json = String(decoding: try EventEnvelope(type: "a.b", producer: "p").encoded(), as: UTF8.self)
        for key in ["\"id\"", "\"type\"", "\"schema_version\"", "\"occurred_at\"", "\"producer\"", "\"subjects\"", "\"payload\""] {
            #expect(json.contains(key))
        }
    }

    @Test(
        "Invalid envelopes name the field at fault",
        arguments: [
            (#"{"type":"a.b","schema_version":1,"occurred_at":"2026-11-24T21:00:00Z","producer":"p"}"#, "id is required"),
            (#"{"id":"x","type":"a.b","schema_version":1,"occurred_at":"2026-11-24T21:00:00Z","producer":"p"}"#, "id"),
            (#"{"id":"6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01","type":"a.b","schema_version":"1","occurred_at":"2026-11-24T21:00:00Z","producer":"p"}"#, "schema_version must be of type"),
            (#"{"id":"6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01","type":"a b","schema_version":1,"occurred_at":"2026-11-24T21:00:00Z","producer":"p"}"#, "type must be"),
            (#"{"id":"6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01","type":"a.b","schema_version":0,"occurred_at":"2026-11-24T21:00:00Z","producer":"p"}"#, "schema_version must be at least 1"),
            (#"{"id":"6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01","type":"a.b","schema_version":1,"occurred_at":"yesterday","producer":"p"}"#, "occurred_at"),
            ("not json", "invalid envelope"),
        ])
    func namesTheField(body: String, expected: String) {
        let error = #expect(throws: EnvelopeError.self) { try EventEnvelope.decode(from: Data(body.utf8)) }
        #expect(error?.description.contains(expected) == true, "got: \(error.map { "\($0)" } ?? "no error")")
    }

    @Test("A consequence keeps tenant and correlation and points its causation at the cause")
    func consequence() {
        let cause = EventEnvelope(type: "job.submitted", producer: "agentctl", tenant: "acme")
        let effect = cause.consequence(type: "job.admitted", producer: "admission", payload: .null)
        #expect(effect.tenant == "acme")
        #expect(effect.correlationID == cause.id)
        #expect(effect.causationID == cause.id)
    }
}

@Suite("ISO 8601 times")
struct ISO8601Tests {
    @Test(
        "Offsets are honoured and fractions kept",
        arguments: [
            ("2026-11-24T21:55:00Z", 1_795_557_300.0),
            ("2026-11-24T21:55:00.123Z", 1_795_557_300.123),
            ("2026-11-24T23:55:00.5+02:00", 1_795_557_300.5),
            ("2026-11-24T16:55:00-0500", 1_795_557_300.0),
            ("2026-11-24 21:55:00.123456Z", 1_795_557_300.123456),
            ("2000-02-29T00:00:00Z", 951_782_400.0),
        ])
    func parses(text: String, epoch: Double) throws {
        let date = try #require(ISO8601.date(from: text))
        #expect(abs(date.timeIntervalSince1970 - epoch) < 0.000_01)
    }

    @Test("Ambiguous or broken times are refused", arguments: ["2026-11-24T21:55:00", "2026-13-01T00:00:00Z", "yesterday", "2026-11-24T21:55:00Zjunk", "2026-11-24T21:55:00."])
    func refuses(text: String) {
        #expect(ISO8601.date(from: text) == nil)
    }

    @Test("Written in UTC with milliseconds, and read back to the same instant")
    func roundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_795_557_300.123)
        let text = ISO8601.string(from: date)
        #expect(text == "2026-11-24T21:55:00.123Z")
        #expect(abs(try #require(ISO8601.date(from: text)).timeIntervalSince1970 - 1_795_557_300.123) < 0.000_001)
        #expect(ISO8601.string(from: Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }
}
