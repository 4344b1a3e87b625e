import Foundation

/// A value sent as a query parameter, in text format (arrays of common types in binary, see
/// ``PostgresBinary``). `nil` parameters are sent as SQL NULL.
public protocol PostgresEncodable: Sendable {
    /// The value in PostgreSQL's text input format.
    var postgresText: String { get }
    /// Appends the value in PostgreSQL's binary format for the type with OID `type` and returns
    /// true, or returns false having appended nothing when it has no binary form for that type.
    func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool
}

extension PostgresEncodable {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool { false }
}

extension String: PostgresEncodable {
    public var postgresText: String { self }
}

extension Int: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Int32: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Int64: PostgresEncodable {
    public var postgresText: String { String(self) }
}

extension Double: PostgresEncodable {
    public var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return String(self)  // shortest text that reads back as the same Double
    }
}

extension Bool: PostgresEncodable {
    public var postgresText: String { self ? "t" : "f" }
}

extension UUID: PostgresEncodable {
    public var postgresText: String { lowercaseText }
}

extension Date: PostgresEncodable {
    /// ISO 8601 in UTC with microseconds, e.g. `2026-11-24T21:55:00.123456Z`.
    public var postgresText: String { PostgresTimestamp.format(self) }
}

extension Data: PostgresEncodable {
    /// bytea hex format, e.g. `\x00ff`.
    public var postgresText: String { PostgresBytea.format(self) }
}

extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// A one-dimensional array literal with every element quoted, e.g. `{"a","b\"c"}`;
    /// cast the parameter in SQL (`$1::text[]`, `$1::uuid[]`, `$1::bigint[]`).
    // A closure, not `map(\.postgresText)`: in this generic context a key path is instantiated at
    // run time on every call (swift_getKeyPath, resolving the element type by its mangled name):
    // 1.5% of the scheduler's CPU under make bench, for every array parameter of every statement.
    public var postgresText: String { PostgresArrayLiteral.format(map { $0.postgresText }) }

    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        PostgresBinary.appendArray(self, arrayType: type, to: &out)
    }
}

/// An array parameter whose elements may be NULL (`{"a",NULL}`), for set-based statements over
/// `unnest` where a column is nullable. Cast it in SQL like any array.
public struct PostgresNullableArray<Element: PostgresEncodable>: PostgresEncodable {
    public var elements: [Element?]

    public init(_ elements: [Element?]) {
        self.elements = elements
    }

    public var postgresText: String { PostgresArrayLiteral.format(elements.map { $0?.postgresText }) }

    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        PostgresBinary.appendArray(elements, arrayType: type, to: &out)
    }
}
