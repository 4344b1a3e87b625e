/// A value in an AMQP field table (queue arguments, message headers).
public enum AMQPFieldValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int32)
    case long(Int64)
    case bool(Bool)
    case double(Double)
    /// A kind this client does not decode (arrays, nested tables, decimals...).
    case unsupported(kind: UInt8)

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let value): Int(value)
        case .long(let value): Int(value)
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .long(let value): String(value)
        case .bool(let value): String(value)
        case .double(let value): String(value)
        case .unsupported(let kind): "<unsupported AMQP field kind \(kind)>"
        }
    }
}

public typealias AMQPTable = [String: AMQPFieldValue]
