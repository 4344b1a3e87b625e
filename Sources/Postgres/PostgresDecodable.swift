import Foundation

/// A value read from a column in PostgreSQL's text output format (SQL NULL never reaches
/// `decode`; use `PostgresRow.decodeIfPresent` for nullable columns).
public protocol PostgresDecodable {
    static func decode(postgresText: String) throws -> Self
}

extension PostgresDecodable {
    static func invalid(_ what: String = "") -> PostgresError {
        PostgresError(kind: .decoding, message: "not a valid \(Self.self) value\(what)")
    }
}

extension String: PostgresDecodable {
    public static func decode(postgresText: String) throws -> String { postgresText }
}

extension Int: PostgresDecodable {
    public static func decode(postgresText: String) throws -> Int {
        guard let value = Int(postgresText) else { throw invalid() }
        return value
    }
}

extension Int32: PostgresDecodable {
    public static func decode(postgresText: String) throws -> Int32 {
        guard let value = Int32(postgresText) else { throw invalid() }
        return value
    }
}

extension Int64: PostgresDecodable {
    public static func decode(postgresText: String) throws -> Int64 {
        guard let value = Int64(postgresText) else { throw invalid() }
        return value
    }
}

extension Double: PostgresDecodable {
    public static func decode(postgresText: String) throws -> Double {
        switch postgresText {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default:
            guard let value = Double(postgresText) else { throw invalid() }
            return value
        }
    }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText: String) throws -> Bool {
        switch postgresText {
        case "t", "true": return true
        case "f", "false": return false
        default: throw invalid()
        }
    }
}

extension UUID: PostgresDecodable {
    public static func decode(postgresText: String) throws -> UUID {
        guard let value = UUID(text: postgresText) else { throw invalid() }
        return value
    }
}

extension Date: PostgresDecodable {
    /// Reads `timestamptz` output with DateStyle ISO and TimeZone UTC
    /// (`2026-11-24 21:55:00.123456+00`), `timestamp` (taken as UTC) and `date` (midnight UTC).
    /// `infinity` and `-infinity` become `distantFuture` and `distantPast`.
    public static func decode(postgresText: String) throws -> Date {
        guard let value = PostgresTimestamp.parse(postgresText) else { throw invalid() }
        return value
    }
}

extension Data: PostgresDecodable {
    /// Reads bytea hex output (`\x00ff`).
    public static func decode(postgresText: String) throws -> Data {
        guard let value = PostgresBytea.parse(postgresText) else {
            throw invalid(" (expected bytea hex output, \\x...)")
        }
        return value
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// Reads a one-dimensional array; a NULL element is an error.
    public static func decode(postgresText: String) throws -> [Element] {
        guard let items = PostgresArrayLiteral.parse(postgresText) else {
            throw invalid(" (expected a one-dimensional array literal)")
        }
        return try items.enumerated().map { index, item in
            guard let item else {
                throw PostgresError(
                    kind: .decoding, message: "array element \(index + 1) is NULL")
            }
            return try Element.decode(postgresText: item)
        }
    }
}
