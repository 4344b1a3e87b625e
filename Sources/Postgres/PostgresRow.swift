/// One row of a `PostgresResult`: text-format values copied out of libpq.
public struct PostgresRow: Sendable {
    let storage: PostgresResult.Storage
    let row: Int

    /// The result's column names.
    public var columns: [String] { storage.columns }

    public func isNull(_ column: Int) -> Bool {
        precondition(storage.columns.indices.contains(column), "column \(column) out of range")
        return storage.value(row: row, column: column) == nil
    }

    /// The raw text of a column, nil for SQL NULL.
    public func text(_ column: Int) throws -> String? {
        try storage.value(row: row, column: checked(column))
    }

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard let value = try decodeIfPresent(column, as: type) else {
            throw PostgresError(
                kind: .decoding, message: "column \(describe(column)) is NULL, expected \(T.self)")
        }
        return value
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(index(of: column), as: type)
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self)
        throws -> T?
    {
        guard let text = try storage.value(row: row, column: checked(column)) else { return nil }
        do {
            return try T.decode(postgresText: text)
        } catch let error as PostgresError {
            throw PostgresError(
                kind: .decoding,
                message: "column \(describe(column)) cannot be decoded as \(T.self): \(error.message)")
        }
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self)
        throws -> T?
    {
        try decodeIfPresent(index(of: column), as: type)
    }

    private func index(of name: String) throws -> Int {
        guard let index = storage.columnIndex[name] else {
            throw PostgresError(
                kind: .usage, message: "no column named \"\(name)\" (columns: \(storage.columns))")
        }
        return index
    }

    private func checked(_ column: Int) throws -> Int {
        guard storage.columns.indices.contains(column) else {
            throw PostgresError(
                kind: .usage,
                message: "column index \(column) out of range (\(storage.columns.count) columns)")
        }
        return column
    }

    private func describe(_ column: Int) -> String {
        "\"\(storage.columns[column])\" (#\(column))"
    }
}
