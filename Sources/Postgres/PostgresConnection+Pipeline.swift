import CLibPQ

/// One statement of a pipeline: SQL with `$n` parameters, as for `PostgresConnection.query`.
public struct PostgresStatement: Sendable {
    public var sql: String
    public var parameters: [(any PostgresEncodable)?]

    public init(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}

extension PostgresConnection {
    /// Runs several statements in one round trip (libpq pipeline mode) and returns their results
    /// in order, without waiting for each answer before sending the next. On a busy machine each
    /// wait is a wake-up of the server process and then of ours, milliseconds apiece, so a
    /// transaction of many short statements spends most of its time waiting (issue 5).
    ///
    /// The statements run in order, each with its own snapshot as under `query`; the first that
    /// fails throws its error, and the ones after it do not run. Inside a transaction block that
    /// aborts the transaction, as a failing `query` would. Outside one, the statements form one
    /// implicit transaction that commits after the last: all of them or none.
    ///
    /// Statements are prepared and cached per connection as `query` does; each statement new to the
    /// connection is prepared before the pipeline is sent (two round trips), so a statement cannot
    /// depend on a table an earlier one in the same pipeline creates. A connection left in an
    /// unknown state (lost mid-pipeline) is closed.
    @discardableResult
    public func pipeline(_ statements: [PostgresStatement]) throws -> [PostgresResult] {
        guard statements.count > 1 else { return try statements.map { try query($0.sql, $0.parameters) } }
        let connection = try liveHandle()
        var prepared: [(name: String, values: PostgresParameters)] = []
        prepared.reserveCapacity(statements.count)
        for statement in statements {
            try Self.rejectNUL(in: statement.sql, what: "SQL text")
            let cached = try preparedStatement(for: statement.sql, on: connection)
            prepared.append((cached.name, try cached.parameters(statement.parameters)))
        }

        guard PQenterPipelineMode(connection) == 1 else { throw PostgresError.connection(connection) }
        // Leaves pipeline mode; a connection that cannot (results left unread after a failure) is
        // of no further use. Not after close(): the PGconn is gone.
        defer { if !isBroken, PQexitPipelineMode(connection) == 0 { close() } }
        for (name, values) in prepared {
            let sent = values.withLibPQ { values, lengths, formats in
                name.withCString { name in PQsendQueryPrepared(connection, name, Int32(values.count), values, lengths, formats, 0) }
            }
            guard sent == 1 else { throw PostgresError.connection(connection) }
        }
        guard PQpipelineSync(connection) == 1 else { throw PostgresError.connection(connection) }

        // Each statement's result, then a null that ends it; then the sync point. Everything is
        // read, even after a failure, so the connection leaves pipeline mode idle.
        var results: [PostgresResult] = []
        results.reserveCapacity(statements.count)
        var firstError: Error?
        for _ in prepared {
            guard let result = PQgetResult(connection) else { throw PostgresError.connection(connection) }
            switch PQresultStatus(result) {
            case PGRES_PIPELINE_ABORTED:
                PQclear(result)
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                PQclear(result)
                close()  // mid-COPY: as `query` does, drop the connection
                throw PostgresError(kind: .usage, message: "COPY is not supported; the connection was closed")
            default:
                do {
                    results.append(try consume(result, on: connection))
                } catch {
                    if firstError == nil { firstError = error }
                }
            }
            while let extra = PQgetResult(connection) { PQclear(extra) }
        }
        guard let sync = PQgetResult(connection) else { throw PostgresError.connection(connection) }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        if let firstError { throw firstError }
        guard synced else { throw PostgresError(kind: .usage, message: "the pipeline ended without its sync point") }
        return results
    }
}
