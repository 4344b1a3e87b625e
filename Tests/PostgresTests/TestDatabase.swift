import Dispatch
import Foundation
import Postgres
import Synchronization

/// Where the tests find their PostgreSQL: `AGENTMGR_DATABASE_URL`. Unset is a failure, not a skip.
enum TestDatabase {
    struct MissingURL: Error, CustomStringConvertible {
        var description: String {
            "AGENTMGR_DATABASE_URL is not set: PostgresTests need a real PostgreSQL server. "
                + "Start one with `eval \"$(bash scripts/services.sh start)\"` and run the tests again."
        }
    }

    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["AGENTMGR_DATABASE_URL"], !url.isEmpty
        else { throw MissingURL() }
        return url
    }

    static func connect() throws -> PostgresConnection {
        try PostgresConnection(url: url(), applicationName: "PostgresTests")
    }

    static func pool(maxConnections: Int = 4, acquireTimeout: Duration = .seconds(30)) throws
        -> PostgresPool
    {
        PostgresPool(
            url: try url(), maxConnections: maxConnections, applicationName: "PostgresTests",
            acquireTimeout: acquireTimeout)
    }

    /// A lowercase identifier no other test (or parallel run) uses.
    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// Creates a uniquely named table (`columns` is its column list), runs `body` with its name,
    /// and drops it afterwards.
    static func withTable<T>(
        _ columns: String, on connection: PostgresConnection, _ body: (String) throws -> T
    ) throws -> T {
        let table = uniqueName("t")
        try connection.execute(script: "CREATE TABLE \(table) (\(columns))")
        defer { try? connection.execute(script: "DROP TABLE IF EXISTS \(table)") }
        return try body(table)
    }

    /// Waits until the backend with `pid` is gone after `pg_terminate_backend`.
    static func terminateBackend(_ pid: Int32, using connection: PostgresConnection) throws {
        try connection.query("SELECT pg_terminate_backend($1)", [pid])
        for _ in 0..<200 {
            let alive = try connection.query(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid])[0].decode(0, as: Int.self)
            if alive == 0 { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw PostgresError(kind: .usage, message: "backend \(pid) did not exit")
    }
}

/// Threads started by `startThreads`; `join` waits for them and rethrows the first error.
struct StartedThreads {
    fileprivate let group: DispatchGroup
    fileprivate let errors: Shared<[any Error]>

    func join(timeout: Duration = .seconds(60)) throws {
        let nanoseconds = Int(timeout.components.seconds) * 1_000_000_000
        guard group.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else {
            throw TestFailure(reason: "threads did not finish within \(timeout)")
        }
        if let first = errors.withLock({ $0.first }) { throw first }
    }
}

/// Runs `body(index)` on `count` dedicated threads: the API under test blocks, so the work must
/// not sit on Swift's cooperative threads.
func startThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) -> StartedThreads {
    let started = StartedThreads(group: DispatchGroup(), errors: Shared([]))
    for index in 0..<count {
        started.group.enter()
        Thread {
            defer { started.group.leave() }
            do { try body(index) } catch { started.errors.withLock { $0.append(error) } }
        }.start()
    }
    return started
}

func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    try startThreads(count, body).join()
}

/// Mutable state shared between test threads.
final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout Value) throws -> R) rethrows -> R {
        try mutex.withLock { try body(&$0) }
    }

    var value: Value { withLock { $0 } }
}

struct TestFailure: Error, Equatable {
    let reason: String
}
