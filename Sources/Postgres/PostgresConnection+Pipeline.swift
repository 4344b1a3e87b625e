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
    /// in order: what `query` would return for each, called one after another, without waiting
    /// for each answer before sending the next. On a busy machine each wait is a wake-up of the
    /// server process and then of ours, milliseconds apiece, so a transaction of many short
    /// statements spends most of its time waiting (issue 5).
    ///
    /// The statements run in order; the first that fails throws its error, and the ones after it
    /// are not run. Inside a transaction block that aborts the transaction, as a failing `query`
    /// would; outside one, each statement commits on its own as it runs. Statements are prepared
    /// and cached as `query` does (the first use of a statement on a connection prepares it
    /// beforehand, one round trip).
    @discardableResult
    public func pipeline(_ statements: [PostgresStatement]) throws -> [PostgresResult] {
        guard statements.count > 1 else { return try statements.map { try query($0.sql, $0.parameters) } }
        let connection = try liveHandle()
        var prepared: [(name: String, texts: [String?])] = []
        prepared.reserveCapacity(statements.count)
        for statement in statements {
            try Self.rejectNUL(in: statement.sql, what: "SQL text")
            let texts = statement.parameters.map { $0?.postgresText }
            for (index, text) in texts.enumerated() {
                if let text { try Self.rejectNUL(in: text, what: "parameter $\(index + 1)") }
            }
            let cached = try preparedStatement(for: statement.sql, on: connection)
            guard texts.count == cached.parameterCount else {
                throw PostgresError(
                    kind: .usage,
                    message: "the statement takes \(cached.parameterCount) parameters, \(texts.count) were given")
            }
            prepared.append((cached.name, texts))
        }

        guard PQenterPipelineMode(connection) == 1 else { throw PostgresError.connection(connection) }
        defer { PQexitPipelineMode(connection) }
        for (name, texts) in prepared {
            let sent = CStringArray.with(texts) { values in
                name.withCString { name in PQsendQueryPrepared(connection, name, Int32(values.count), values, nil, nil, 0) }
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
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
            } else {
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
