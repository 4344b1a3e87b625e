import Foundation

/// `numeric` travels as text, so money never passes through floating point.
extension Decimal: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { description }

    public static func decode(postgresText: String) throws -> Decimal {
        guard let value = Decimal(string: postgresText, locale: Locale(identifier: "en_US_POSIX")) else {
            throw PostgresError(kind: .decoding, message: "not a numeric value: \(postgresText)")
        }
        return value
    }
}
