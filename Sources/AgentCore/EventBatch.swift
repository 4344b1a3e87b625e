import AMQP
import Foundation

/// Several events of one type carried by one AMQP message: the body is a JSON array of envelopes
/// and the header `x-agentmgr-batch` holds their count (docs/events.md, "Batches"). The broker's
/// cost is per message, not per byte, so a worker that emits a hundred `job.scheduled` in one
/// transaction sends them as one message (issue 5). Consumers split a batch back into one
/// delivery per event before decoding, so handlers, the inbox (keyed by event id) and dead
/// letters (one per event) see single events.
public enum EventBatch {
    public static let header = "x-agentmgr-batch"
    /// Set on each element `split` returns: its position in the batch (0-based). Job requests
    /// derive their reply's correlation id from it (docs/amqp-contract.md, "Batch submission").
    public static let indexHeader = "x-agentmgr-batch-index"
    /// Most events one message carries (`AGENTMGR_EVENT_BATCH_MAX`, default 100; 1 sends every
    /// event as its own message, for an upgrade while consumers that cannot split batches still
    /// run: docs/events.md, "Batches"). It also bounds the work one delivery brings into a
    /// consumer's batch transaction.
    public static let maxEvents: Int = {
        guard let text = ProcessInfo.processInfo.environment["AGENTMGR_EVENT_BATCH_MAX"], let value = Int(text) else { return 100 }
        return min(max(value, 1), largest)
    }()
    /// No message carries more, whoever sent it; a header claiming more weighs this much.
    static let largest = 1_000

    /// How many events `delivery` carries, by its header (1 for a plain message).
    public static func eventCount(_ delivery: AMQPDelivery) -> Int {
        guard let value = delivery.properties.headers[header] else { return 1 }
        switch value {
        case .string(let text): return Int(text).map { min(max($0, 1), largest) } ?? 1
        case .long(let number): return Int(min(max(number, 1), Int64(largest)))
        default: return 1
        }
    }

    /// Whether `delivery` is a batch.
    public static func isBatch(_ delivery: AMQPDelivery) -> Bool {
        delivery.properties.headers[header] != nil
    }

    /// One delivery per event of a batch, in order, sharing the batch's delivery tag (the batch is
    /// acknowledged once all are applied). Each keeps the batch's properties without the batch
    /// header, plus `indexHeader`; its message id is `<batch id>#<index>` (event handlers
    /// deduplicate by the event's own id). A delivery that is not a batch comes back alone. Throws when the body is not a JSON
    /// array of at least one element: the whole message is malformed then.
    public static func split(_ delivery: AMQPDelivery) throws(JSONSyntaxError) -> [AMQPDelivery] {
        guard isBatch(delivery) else { return [delivery] }
        let ranges = try delivery.body.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Result<[Range<Int>], JSONSyntaxError> in
            Result { () throws(JSONSyntaxError) in try JSONArraySplitter.elementRanges(raw.bindMemory(to: UInt8.self)) }
        }.get()
        guard !ranges.isEmpty else { throw JSONSyntaxError(offset: 0, reason: "a batch must hold at least one event") }
        guard ranges.count <= largest else {
            throw JSONSyntaxError(offset: 0, reason: "a batch holds at most \(largest) elements, this one \(ranges.count)")
        }
        let declared: Int? =
            switch delivery.properties.headers[header] {
            case .string(let text)?: Int(text)
            case .long(let number)?: Int(number)
            default: nil
            }
        guard declared == ranges.count else {
            throw JSONSyntaxError(offset: 0, reason: "\(header) must be the number of elements (\(ranges.count)), got \(delivery.properties.headers[header].map { "\($0)" } ?? "nothing")")
        }
        var properties = delivery.properties
        properties.headers[header] = nil
        let batchID = delivery.properties.messageID ?? ""
        let base = delivery.body.startIndex
        return ranges.enumerated().map { index, range in
            var element = properties
            element.messageID = "\(batchID)#\(index)"
            element.headers[indexHeader] = .long(Int64(index))
            return AMQPDelivery(
                deliveryTag: delivery.deliveryTag, redelivered: delivery.redelivered, exchange: delivery.exchange,
                routingKey: delivery.routingKey, consumerTag: delivery.consumerTag, properties: element,
                body: Data(delivery.body[(base + range.lowerBound)..<(base + range.upperBound)]))
        }
    }
}

/// Finds the byte ranges of a JSON array's elements by structure alone (brackets, braces, strings
/// and commas); each element is parsed, and so validated, by whoever decodes it.
enum JSONArraySplitter {
    static func elementRanges(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> [Range<Int>] {
        var index = skipSpace(bytes, from: 0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else {
            throw JSONSyntaxError(offset: index, reason: "a batch must be a JSON array")
        }
        index += 1
        var ranges: [Range<Int>] = []
        var depth = 0
        var inString = false
        var start: Int?
        var lastNonSpace = index
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    lastNonSpace = index
                }
                index += 1
                continue
            }
            let endsElement = depth == 0 && (byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]"))
            if endsElement {
                if let first = start {
                    ranges.append(first..<(lastNonSpace + 1))
                } else if byte == UInt8(ascii: ",") || !ranges.isEmpty {
                    throw JSONSyntaxError(offset: index, reason: "missing array element")
                }
                start = nil
                if byte == UInt8(ascii: "]") {
                    guard skipSpace(bytes, from: index + 1) == bytes.count else {
                        throw JSONSyntaxError(offset: index + 1, reason: "unexpected text after the array")
                    }
                    return ranges
                }
            } else if !isSpace(byte) {
                if start == nil { start = index }
                lastNonSpace = index
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    guard depth >= 0 else { throw JSONSyntaxError(offset: index, reason: "unbalanced brackets") }
                default: break
                }
            }
            index += 1
        }
        throw JSONSyntaxError(offset: index, reason: "unexpected end of input")
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    private static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        return index
    }
}
