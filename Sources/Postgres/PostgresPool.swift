import CLibPQ
import Dispatch
import Foundation
import Synchronization

/// A blocking pool of up to `maxConnections` connections, opened lazily and reused LIFO.
///
/// A counting semaphore holds one permit per connection that may be checked out, so a caller
/// waits (up to `acquireTimeout`) while all are in use; a mutex guards the idle list.
public final class PostgresPool: Sendable {
    private struct State {
        var idle: [PostgresConnection] = []
        var isClosed = false
    }

    public let maxConnections: Int
    public let acquireTimeout: Duration
    private let url: String
    private let applicationName: String?
    private let state = Mutex(State())
    private let permits: DispatchSemaphore

    public init(
        url: String, maxConnections: Int = 8, applicationName: String? = nil,
        acquireTimeout: Duration = .seconds(30)
    ) {
        precondition(maxConnections > 0, "maxConnections must be positive")
        self.url = url
        self.maxConnections = maxConnections
        self.applicationName = applicationName
        self.acquireTimeout = acquireTimeout
        self.permits = DispatchSemaphore(value: maxConnections)
    }

    /// Runs `body` with a connection of its own. Blocks while all connections are in use and
    /// throws a `.pool` error after `acquireTimeout`. A connection that is broken afterwards is
    /// closed instead of being returned; one left inside a transaction is rolled back first.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    /// Runs `body` inside BEGIN ... COMMIT and returns its value.
    ///
    /// On any error the transaction is rolled back and the error rethrown, except that a
    /// serialization failure (40001) or deadlock (40P01), in the body or at COMMIT, runs the whole
    /// transaction again after a short jittered exponential backoff, up to `maxAttempts` times in
    /// all; and a connection failure at BEGIN (typically a pooled connection the server has since
    /// dropped) is retried once on a fresh connection. `body` may therefore run more than once.
    @discardableResult
    public func transaction<T>(
        isolation: IsolationLevel = .readCommitted, maxAttempts: Int = 5,
        _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        var attempt = 1
        var retriedBegin = false
        while true {
            do {
                return try withConnection { connection in
                    try Self.runTransaction(on: connection, isolation: isolation, body)
                }
            } catch let failure as BeginFailure {
                guard !retriedBegin else { throw failure.error }
                retriedBegin = true
                discardIdleConnections()  // they are likely dead for the same reason
            } catch let error as PostgresError
                where error.isRetryableTransactionFailure && attempt < maxAttempts
            {
                let ceiling = min(0.005 * Double(1 << min(attempt, 10)), 0.5)
                Thread.sleep(forTimeInterval: Double.random(in: (ceiling / 2)...ceiling))
                attempt += 1
            }
        }
    }

    /// Closes the idle connections and refuses new checkouts; connections in use are closed when
    /// they are given back.
    public func close() {
        let idle = state.withLock { state in
            state.isClosed = true
            defer { state.idle.removeAll() }
            return state.idle
        }
        idle.forEach { $0.close() }
    }

    // MARK: Checkout

    private func checkOut() throws -> PostgresConnection {
        guard !state.withLock({ $0.isClosed }) else { throw Self.closedError }
        let nanoseconds = Int(min(acquireTimeout.timeInterval * 1e9, Double(Int.max / 2)))
        guard permits.wait(timeout: .now() + .nanoseconds(max(0, nanoseconds))) == .success else {
            throw PostgresError(
                kind: .pool,
                message: "no connection became free within \(acquireTimeout) "
                    + "(all \(maxConnections) in use)")
        }
        let (isClosed, idle) = state.withLock { state in (state.isClosed, state.idle.popLast()) }
        if isClosed {
            permits.signal()
            throw Self.closedError
        }
        if let idle { return idle }
        do {
            return try PostgresConnection(url: url, applicationName: applicationName)
        } catch {
            permits.signal()
            throw error
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        defer { permits.signal() }
        if !connection.isBroken, connection.transactionStatus != PQTRANS_IDLE {
            try? connection.execute(script: "ROLLBACK")
        }
        let reusable = !connection.isBroken && connection.transactionStatus == PQTRANS_IDLE
        let kept = state.withLock { state in
            guard reusable, !state.isClosed else { return false }
            state.idle.append(connection)
            return true
        }
        if !kept { connection.close() }
    }

    private func discardIdleConnections() {
        let idle = state.withLock { state in
            defer { state.idle.removeAll() }
            return state.idle
        }
        idle.forEach { $0.close() }
    }

    private static let closedError = PostgresError(kind: .pool, message: "the pool is closed")

    // MARK: Transactions

    private struct BeginFailure: Error {
        let error: PostgresError
    }

    private static func runTransaction<T>(
        on connection: PostgresConnection, isolation: IsolationLevel,
        _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        do {
            try connection.execute(script: isolation.beginStatement)
        } catch let error as PostgresError where error.isConnectionFailure {
            throw BeginFailure(error: error)
        }
        let value: T
        do {
            value = try body(connection)
        } catch {
            rollBack(connection)
            throw error
        }
        if connection.transactionStatus == PQTRANS_INERROR {
            // The body caught a database error and carried on; COMMIT would silently roll back.
            rollBack(connection)
            if let cause = connection.lastServerError, cause.isRetryableTransactionFailure {
                throw cause
            }
            throw PostgresError(
                kind: .usage, sqlState: "25P02",
                message: "the transaction was aborted by an error that the body caught; "
                    + "rolled back instead of committing")
        }
        // A failed COMMIT (e.g. 40001) ends the transaction on the server; the error propagates.
        let tag = try connection.run(script: "COMMIT").commandTag
        guard tag == "COMMIT" else {
            throw PostgresError(
                kind: .usage, message: "COMMIT ended as \(tag); the body must not end the transaction")
        }
        return value
    }

    private static func rollBack(_ connection: PostgresConnection) {
        if !connection.isBroken, connection.transactionStatus != PQTRANS_IDLE {
            try? connection.execute(script: "ROLLBACK")
        }
    }
}
