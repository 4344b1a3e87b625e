import Foundation

/// JSON text for a `json` or `jsonb` parameter or column.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Equatable, Sendable {
    public let text: String

    public init(_ text: String) {
        self.text = text
    }

    /// JSON-encodes `value`.
    public init<T: Encodable>(encoding value: T, encoder: JSONEncoder = JSONEncoder()) throws {
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// JSON-decodes the text as `type`.
    public func decode<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder())
        throws -> T
    {
        try decoder.decode(type, from: Data(text.utf8))
    }

    public var postgresText: String { text }

    public static func decode(postgresText: String) throws -> PostgresJSON {
        PostgresJSON(postgresText)
    }
}
