import AgentTestSupport
import AgentCore
import Foundation
import Postgres
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("Each migration is applied once; re-running and concurrent runs change nothing")
    func appliedExactlyOnce() throws {
        let env = try RuntimeTestEnvironment()  // already migrated once
        defer { env.close() }
        let migrator = try Migrator.bundled()
        #expect(try migrator.migrate(env.pool).isEmpty)

        // Four workers starting at once against a fresh database.
        let fresh = try RuntimeTestEnvironment.freshDatabase()
        defer { fresh.drop() }
        let applied = Mutex4()
        let threads = (0..<4).map { _ in
            Thread {
                let pool = PostgresPool(url: fresh.url, maxConnections: 1)
                defer { pool.close() }
                applied.append((try? migrator.migrate(pool)) ?? [-1])
            }
        }
        threads.forEach { $0.start() }
        #expect(applied.wait(for: 4))
        let all = applied.values.flatMap { $0 }
        #expect(!all.contains(-1), "a concurrent migration failed")
        #expect(all.sorted() == migrator.migrations.map(\.version), "each version applied by exactly one process")
        let pool = PostgresPool(url: fresh.url, maxConnections: 1)
        defer { pool.close() }
        let rows = try pool.withConnection { try $0.query("SELECT count(*) FROM schema_migrations")[0].decode(0, as: Int.self) }
        #expect(rows == migrator.migrations.count)
    }

    @Test("An applied migration that was edited afterwards is refused with its name")
    func editedMigrationRefused() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        var migrations = try Migrator.bundled().migrations
        let first = migrations[0]
        migrations[0] = .init(version: first.version, name: first.name, sql: first.sql + "\n-- edited")
        let error = #expect(throws: MigrationError.self) { try Migrator(migrations: migrations).migrate(env.pool) }
        #expect(error?.description.contains("\(first.id) was changed") == true)
    }

    @Test("The event log is append-only")
    func eventsAppendOnly() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        try env.pool.withConnection { db in
            try db.query(
                "INSERT INTO events (id, type, schema_version, occurred_at, producer, payload) VALUES ($1, 'x.y', 1, now(), 'test', '{}')",
                [UUID()])
            let error = #expect(throws: PostgresError.self) { try db.query("UPDATE events SET type = 'changed'") }
            #expect(error?.message.contains("append-only") == true)
            #expect(throws: PostgresError.self) { try db.query("DELETE FROM events") }
        }
    }
}

/// Collects results from plain threads.
final class Mutex4: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [[Int]] = []
    private let done = DispatchSemaphore(value: 0)

    func append(_ value: [Int]) {
        lock.withLock { results.append(value) }
        done.signal()
    }

    func wait(for count: Int) -> Bool {
        (0..<count).allSatisfy { _ in done.wait(timeout: .now() + 60) == .success }
    }

    var values: [[Int]] { lock.withLock { results } }
}

extension RuntimeTestEnvironment {
    struct FreshDatabase {
        let url: String
        let name: String
        let adminURL: String

        func drop() {
            if let admin = try? PostgresConnection(url: adminURL) {
                try? admin.execute(script: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                admin.close()
            }
        }
    }

    /// An empty, unmigrated database.
    static func freshDatabase() throws -> FreshDatabase {
        guard let adminURL = ProcessInfo.processInfo.environment["AGENTMGR_DATABASE_URL"] else {
            throw MissingService(variable: "AGENTMGR_DATABASE_URL")
        }
        let name = "test_fresh_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased())"
        let admin = try PostgresConnection(url: adminURL)
        defer { admin.close() }
        try admin.execute(script: "CREATE DATABASE \(name)")
        return FreshDatabase(url: replacingDatabase(in: adminURL, with: name), name: name, adminURL: adminURL)
    }
}
