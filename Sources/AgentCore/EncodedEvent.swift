import Foundation

/// An event written once: the envelope's JSON body as published, and within it the payload's and
/// subjects' JSON, which the event log stores in columns of their own. Serializing the payload
/// again for the log (and building the envelope as a dictionary first) was a tenth of a
/// worker's CPU under make bench.
public struct EncodedEvent: Sendable {
    public let body: String
    public let payload: String
    public let subjects: String
}

extension EventEnvelope {
    /// The envelope's wire format (docs/events.md): a JSON object with its keys in sorted order,
    /// optional fields left out when absent, as `JSONValue.serialized()` writes objects.
    public func encodedParts() -> EncodedEvent {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        func key(_ name: StaticString, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            name.withUTF8Buffer { out.append(contentsOf: $0) }
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        // Sorted: causation_id, correlation_id, id, occurred_at, payload, producer,
        // schema_version, subjects, tenant, type.
        out.append(UInt8(ascii: "{"))
        var first = true
        if let causationID {
            key("causation_id", first: first)
            first = false
            JSONByteWriter.writeString(causationID.uppercaseText, to: &out)
        }
        if let correlationID {
            key("correlation_id", first: first)
            first = false
            JSONByteWriter.writeString(correlationID.uppercaseText, to: &out)
        }
        key("id", first: first)
        JSONByteWriter.writeString(id.uppercaseText, to: &out)
        key("occurred_at")
        JSONByteWriter.writeString(ISO8601.string(from: occurredAt), to: &out)
        key("payload")
        let payloadStart = out.count
        JSONByteWriter.write(payload, to: &out)
        let payloadEnd = out.count
        key("producer")
        JSONByteWriter.writeString(producer, to: &out)
        key("schema_version")
        JSONByteWriter.writeNumber(Double(schemaVersion), to: &out)
        key("subjects")
        let subjectsStart = out.count
        out.append(UInt8(ascii: "{"))
        for (offset, name) in subjects.keys.sorted().enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            JSONByteWriter.writeString(name, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONByteWriter.writeString(subjects[name]!, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        let subjectsEnd = out.count
        if let tenant {
            key("tenant")
            JSONByteWriter.writeString(tenant, to: &out)
        }
        key("type")
        JSONByteWriter.writeString(type, to: &out)
        out.append(UInt8(ascii: "}"))
        return EncodedEvent(
            body: String(decoding: out, as: UTF8.self),
            payload: String(decoding: out[payloadStart..<payloadEnd], as: UTF8.self),
            subjects: String(decoding: out[subjectsStart..<subjectsEnd], as: UTF8.self))
    }
}
