/// An error from the PostgreSQL layer: the server's own error (with its SQLSTATE), a lost or refused
/// connection, a value that could not be decoded, an exhausted pool, or a misuse of the API.
///
/// `description` carries the SQLSTATE and the primary message only; it never includes connection
/// strings or passwords, nor the `detail` (which can echo row values). `String(reflecting:)` adds
/// the detail and the constraint name for debugging.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// Could not connect, or the connection was lost.
        case connection
        /// The server reported an error (see `sqlState`).
        case server
        /// A column value was NULL or could not be parsed as the requested type.
        case decoding
        /// No pooled connection became free in time, or the pool is closed.
        case pool
        /// The API was used in a way it does not support.
        case usage
    }

    public let kind: Kind
    /// The five-character SQLSTATE, e.g. `23505`, when the server sent one.
    public let sqlState: String?
    /// The server's primary message (`PG_DIAG_MESSAGE_PRIMARY`) or libpq's own message.
    public let message: String
    public let detail: String?
    public let constraint: String?

    public init(
        kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil,
        constraint: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.constraint = constraint
    }

    /// `40001` serialization_failure.
    public var isSerializationFailure: Bool { sqlState == "40001" }
    /// `40P01` deadlock_detected.
    public var isDeadlock: Bool { sqlState == "40P01" }
    /// `23505` unique_violation.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// A failure that running the whole transaction again may cure.
    public var isRetryableTransactionFailure: Bool { isSerializationFailure || isDeadlock }
    /// The connection is gone or refused: `kind == .connection`, SQLSTATE class 08, or the server
    /// shutting down or terminating the session (57P01 to 57P03).
    public var isConnectionFailure: Bool {
        if kind == .connection { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    public var description: String {
        if let sqlState { return "SQLSTATE \(sqlState): \(message)" }
        switch kind {
        case .connection: return "connection error: \(message)"
        case .server: return "server error: \(message)"
        case .decoding: return "decoding error: \(message)"
        case .pool: return "pool error: \(message)"
        case .usage: return "usage error: \(message)"
        }
    }

    public var debugDescription: String {
        var text = "PostgresError(\(kind)): \(description)"
        if let detail { text += "; detail: \(detail)" }
        if let constraint { text += "; constraint: \(constraint)" }
        return text
    }
}
