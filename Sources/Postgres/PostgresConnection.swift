import CLibPQ
import Foundation

/// One blocking libpq connection (`PGconn`).
///
/// `@unchecked Sendable` because libpq lets a `PGconn` move between threads but not be used by
/// two threads at once, and this class adds no locking of its own: `PostgresPool` hands each
/// connection to one thread at a time (its mutex orders one holder's use before the next), and
/// code that holds a connection outside a pool must do the same.
public final class PostgresConnection: @unchecked Sendable {
    /// Prepared statements kept per connection; the least recently used is deallocated beyond it.
    static let statementCacheCapacity = 256

    struct CachedStatement {
        let name: String
        /// The parameters' type OIDs, as the server inferred them (`PQparamtype`).
        let parameterTypes: [UInt32]
        var lastUse: UInt64

        /// The count is checked here: the server would answer a mismatch with 08P01
        /// (protocol_violation), which reads like a connection failure although the connection is fine.
        func parameters(_ values: [(any PostgresEncodable)?]) throws -> PostgresParameters {
            try PostgresParameters(values, types: parameterTypes)
        }
    }

    private var handle: OpaquePointer?
    private var statements: [String: CachedStatement] = [:]
    private var statementsToDeallocate: [String] = []
    private var statementCounter = 0
    private var useCounter: UInt64 = 0
    /// The last error the server reported, so a transaction runner can tell why a transaction
    /// is in the aborted state.
    private(set) var lastServerError: PostgresError?

    /// Connects with a libpq URI (`postgres://user:pw@host:port/db`) or key=value conninfo, then
    /// sets `TimeZone` to UTC and `DateStyle` to ISO (what the `Date` decoder reads). The client
    /// encoding is forced to UTF8; `connect_timeout` (10 s), TCP keepalives and `tcp_user_timeout` (30 s)
    /// have defaults the URL may override.
    public init(url: String, applicationName: String? = nil) throws {
        let secrets = try Self.secrets(in: url)
        // Entries before `dbname` can be overridden by the URL; entries after it override the URL.
        // Keepalives and a TCP user timeout: a peer that vanished (host lost, partition) is noticed
        // in about half a minute instead of hours, so no call blocks forever on a dead socket.
        var keywords: [String?] = [
            "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
            "dbname", "client_encoding",
        ]
        var values: [String?] = ["10", "1", "10", "5", "3", "30000", url, "UTF8"]
        if let applicationName {
            keywords.append("application_name")
            values.append(applicationName)
        }
        keywords.append(nil)
        values.append(nil)
        let connection = CStringArray.with(keywords) { keywords in
            CStringArray.with(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let error = PostgresError.connection(connection, redacting: secrets)
            PQfinish(connection)
            throw error
        }
        handle = connection
        // libpq prints NOTICEs (e.g. "table does not exist, skipping") to stderr by default.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        do {
            try execute(script: "SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO'")
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    /// True once the connection is closed or libpq has seen it fail.
    public var isBroken: Bool {
        guard let handle else { return true }
        return PQstatus(handle) != CONNECTION_OK
    }

    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        statements.removeAll()
        statementsToDeallocate.removeAll()
    }

    /// Whether a transaction block is open (`PQtransactionStatus`).
    var transactionStatus: PGTransactionStatusType {
        guard let handle else { return PQTRANS_UNKNOWN }
        return PQtransactionStatus(handle)
    }

    var cachedStatementCount: Int { statements.count }

    // MARK: Queries

    /// Runs one statement with text-format parameters (`$1`, `$2`...; nil is SQL NULL) through a
    /// prepared statement cached by SQL text, and copies the rows out.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws
        -> PostgresResult
    {
        let connection = try liveHandle()
        try Self.rejectNUL(in: sql, what: "SQL text")
        do {
            return try executePrepared(sql, parameters, on: connection)
        } catch let error as PostgresError
            where isStaleStatement(error) && transactionStatus == PQTRANS_IDLE
        {
            // The server forgot our statements (DEALLOCATE ALL, DISCARD ALL) or a table changed
            // shape under `SELECT *`; outside a transaction it is safe to prepare again once.
            if error.sqlState == "26000" {
                statements.removeAll()
                statementsToDeallocate.removeAll()
            } else if let stale = statements.removeValue(forKey: sql) {
                statementsToDeallocate.append(stale.name)
            }
            return try executePrepared(sql, parameters, on: connection)
        }
    }

    /// Runs parameter-free SQL with `PQexec`: BEGIN/COMMIT, SET, multi-statement scripts such as
    /// migration files. Stops at the first failing statement and throws its error.
    public func execute(script sql: String) throws {
        _ = try run(script: sql)
    }

    /// `execute(script:)` returning the last statement's result (e.g. its command tag).
    func run(script sql: String) throws -> PostgresResult {
        let connection = try liveHandle()
        try Self.rejectNUL(in: sql, what: "SQL text")
        let result = sql.withCString { PQexec(connection, $0) }
        return try consume(result, on: connection)
    }

    private func executePrepared(_ sql: String, _ parameters: [(any PostgresEncodable)?], on connection: OpaquePointer)
        throws -> PostgresResult
    {
        let statement = try preparedStatement(for: sql, on: connection)
        let values = try statement.parameters(parameters)
        let name = statement.name
        let result = values.withLibPQ { values, lengths, formats in
            name.withCString { name in
                PQexecPrepared(connection, name, Int32(values.count), values, lengths, formats, 0)
            }
        }
        return try consume(result, on: connection)
    }

    func preparedStatement(for sql: String, on connection: OpaquePointer) throws
        -> CachedStatement
    {
        useCounter += 1
        if let cached = statements[sql] {
            statements[sql]!.lastUse = useCounter
            return cached
        }
        if statements.count >= Self.statementCacheCapacity,
            let oldest = statements.min(by: { $0.value.lastUse < $1.value.lastUse })
        {
            statements[oldest.key] = nil
            statementsToDeallocate.append(oldest.value.name)
        }
        deallocatePendingStatements(on: connection)
        statementCounter += 1
        let name = "s\(statementCounter)"
        let prepared = name.withCString { name in
            sql.withCString { sql in PQprepare(connection, name, sql, 0, nil) }
        }
        _ = try consume(prepared, on: connection)
        let described = name.withCString { PQdescribePrepared(connection, $0) }
        let parameterTypes = try consume(described, on: connection).parameterTypes
        let statement = CachedStatement(
            name: name, parameterTypes: parameterTypes, lastUse: useCounter)
        statements[sql] = statement
        return statement
    }

    /// Evicted statements are deallocated only outside a transaction block, so a failure here can
    /// never abort the caller's transaction.
    private func deallocatePendingStatements(on connection: OpaquePointer) {
        guard !statementsToDeallocate.isEmpty, PQtransactionStatus(connection) == PQTRANS_IDLE
        else { return }
        // Statement names are our own `sN` identifiers, never caller values.
        let sql = statementsToDeallocate.map { "DEALLOCATE \($0)" }.joined(separator: "; ")
        statementsToDeallocate.removeAll()
        if let result = sql.withCString({ PQexec(connection, $0) }) { PQclear(result) }
    }

    private func isStaleStatement(_ error: PostgresError) -> Bool {
        error.sqlState == "26000"
            || (error.sqlState == "0A000"
                && error.message.hasPrefix("cached plan must not change result type"))
    }

    /// Copies a successful result out and clears it, or turns a failure into a `PostgresError`.
    func consume(_ result: OpaquePointer?, on connection: OpaquePointer) throws
        -> PostgresResult
    {
        guard let result else { throw PostgresError.connection(connection) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return PostgresResult(copying: result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            close()  // the protocol is mid-COPY; dropping the connection is the simple way out
            throw PostgresError(
                kind: .usage, message: "COPY is not supported; the connection was closed")
        default:
            let error = PostgresError(result: result, connection: connection)
            if error.kind == .server { lastServerError = error }
            throw error
        }
    }

    // MARK: LISTEN / NOTIFY

    /// Waits for a NOTIFY on a channel this connection LISTENs to (run `LISTEN chan` first) and
    /// returns its channel name, or nil when `timeout` passes first.
    public func waitForNotification(timeout: Duration) throws -> String? {
        try nextNotification(timeout: timeout)?.channel
    }

    /// Like `waitForNotification(timeout:)`, with the payload and sender.
    public func nextNotification(timeout: Duration) throws -> PostgresNotification? {
        let connection = try liveHandle()
        let deadline = ContinuousClock.now + timeout
        while true {
            // Notifications that arrived during earlier queries are already queued.
            if let notification = Self.takeNotification(connection) { return notification }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return nil }
            let socket = PQsocket(connection)
            guard socket >= 0 else { throw PostgresError.connection(connection) }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, remaining.pollMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw PostgresError(
                    kind: .connection, message: "poll failed: \(String(cString: strerror(errno)))")
            }
            if ready > 0, PQconsumeInput(connection) == 0 {
                throw PostgresError.connection(connection)
            }
        }
    }

    private static func takeNotification(_ connection: OpaquePointer) -> PostgresNotification? {
        guard let notify = PQnotifies(connection) else { return nil }
        defer { PQfreemem(notify) }
        return PostgresNotification(
            channel: String(cString: notify.pointee.relname),
            payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
            processID: notify.pointee.be_pid)
    }

    // MARK: Helpers

    func liveHandle() throws -> OpaquePointer {
        guard let handle else {
            throw PostgresError(kind: .usage, message: "the connection is closed")
        }
        return handle
    }

    static func rejectNUL(in text: String, what: String) throws {
        var text = text
        let hasNUL = text.withUTF8 { bytes in bytes.baseAddress.map { memchr($0, 0, bytes.count) != nil } ?? false }
        if hasNUL {
            throw PostgresError(
                kind: .usage, message: "\(what) contains a NUL character, which PostgreSQL rejects")
        }
    }

    /// The password in a connection string, to scrub from libpq's messages. A string libpq cannot
    /// parse is refused here, with the quoted fragments of libpq's message (which may be parts of
    /// the secret) blanked out.
    private static func secrets(in url: String) throws -> [String] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = url.withCString({ PQconninfoParse($0, &errorMessage) }) else {
            let message = errorMessage.map { String(cString: $0) } ?? "out of memory"
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(
                kind: .connection,
                message: "invalid connection string: "
                    + PostgresError.clean(blankQuotedFragments(message), fallback: "unparsable"))
        }
        defer { PQconninfoFree(options) }
        var secrets: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val {
                secrets.append(String(cString: value))
            }
            option += 1
        }
        return secrets
    }

    private static func blankQuotedFragments(_ message: String) -> String {
        let parts = message.split(separator: "\"", omittingEmptySubsequences: false)
        return parts.enumerated().map { index, part in
            index % 2 == 1 && part.count > 1 ? "..." : String(part)
        }.joined(separator: "\"")
    }
}
