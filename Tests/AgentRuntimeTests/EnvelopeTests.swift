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
