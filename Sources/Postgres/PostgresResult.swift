import CLibPQ

/// The rows and command status of one statement, copied out of the `PGresult` (which is cleared
/// right after), so a result is a plain value that can cross threads.
public struct PostgresResult: Sendable, RandomAccessCollection {
    /// Shared, immutable cell storage; rows keep a reference instead of copying their values.
    final class Storage: Sendable {
        let columns: [String]
        let columnIndex: [String: Int]
        let cells: [String?]  // row-major

        init(columns: [String], cells: [String?]) {
            self.columns = columns
            // The first of several same-named columns wins, as in most drivers.
            self.columnIndex = Dictionary(
                columns.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            self.cells = cells
        }

        func value(row: Int, column: Int) -> String? {
            cells[row * columns.count + column]
        }
    }

    public let columns: [String]
    /// Rows inserted, updated, deleted, selected... as reported by `PQcmdTuples`; 0 when none apply.
    public let rowsAffected: Int
    /// The command tag, e.g. `INSERT 0 1`, `COMMIT`.
    public let commandTag: String
    let storage: Storage
    /// `PQparamtype` of each parameter: only meaningful for the result of `PQdescribePrepared`.
    let parameterTypes: [UInt32]
    private let rowCount: Int

    /// Copies everything out of `result`; the caller still owns (and clears) it.
    init(copying result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var cells: [String?] = []
        cells.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    cells.append(nil)
                } else {
                    let bytes = UnsafeRawBufferPointer(
                        start: PQgetvalue(result, row, column),
                        count: Int(PQgetlength(result, row, column)))
                    cells.append(String(decoding: bytes, as: UTF8.self))
                }
            }
        }
        self.columns = columns
        self.rowCount = rowCount
        self.storage = Storage(columns: columns, cells: cells)
        self.rowsAffected = Int(String(cString: PQcmdTuples(result))) ?? 0
        self.commandTag = String(cString: PQcmdStatus(result))
        self.parameterTypes = (0..<PQnparams(result)).map { PQparamtype(result, $0) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { rowCount }

    public subscript(position: Int) -> PostgresRow {
        precondition(indices.contains(position), "row \(position) out of range")
        return PostgresRow(storage: storage, row: position)
    }
}
