import Dispatch
import Foundation
import Postgres
import Testing

@Suite struct TransactionTests {
    @Test func commitsAndReturnsTheBodysValue() throws {
        let pool = try TestDatabase.pool()
        defer { pool.close() }
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY, note text", on: db) { table in
            let value = try pool.transaction { connection in
                try connection.query("INSERT INTO \(table) VALUES ($1, $2)", [1, "kept"])
                return "done"
            }
            #expect(value == "done")
            // Visible from another session: it was committed.
            let rows = try db.query("SELECT note FROM \(table) WHERE id = $1", [1])
            #expect(try rows.map { try $0.decode(0, as: String.self) } == ["kept"])
        }
    }

    @Test func rollsBackWhenTheBodyThrows() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        defer { pool.close() }
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY", on: db) { table in
            #expect(throws: TestFailure(reason: "changed my mind")) {
                try pool.transaction { connection in
                    try connection.query("INSERT INTO \(table) VALUES ($1)", [1])
                    throw TestFailure(reason: "changed my mind")
                }
            }
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 0)

            // A server error inside the body rolls back too, and the pooled connection stays usable.
            let error = try #require(throws: PostgresError.self) {
                try pool.transaction { connection in
                    try connection.query("INSERT INTO \(table) VALUES ($1)", [2])
                    try connection.query("INSERT INTO \(table) VALUES ($1)", [2])
                }
            }
            #expect(error.isUniqueViolation)
            try pool.transaction { try $0.query("INSERT INTO \(table) VALUES ($1)", [3]) }
            let ids = try db.query("SELECT id FROM \(table)").map { try $0.decode(0, as: Int.self) }
            #expect(ids == [3])
        }
    }

    @Test func refusesToCommitAfterACaughtError() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        defer { pool.close() }
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY", on: db) { table in
            let error = try #require(throws: PostgresError.self) {
                try pool.transaction { connection in
                    try connection.query("INSERT INTO \(table) VALUES ($1)", [1])
                    _ = try? connection.query("SELECT 1/0")
                }
            }
            #expect(error.sqlState == "25P02")
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 0)
            #expect(try pool.transaction { try $0.query("SELECT 1").count } == 1)
        }
    }

    @Test func retriesARealSerializationFailure() throws {
        let pool = try TestDatabase.pool(maxConnections: 2)
        defer { pool.close() }
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY, value int NOT NULL", on: db) { table in
            try db.query("INSERT INTO \(table) VALUES (1, 0)")
            let runs = Shared([0, 0])
            let errors = Shared<[String]>([])
            let readDone = [DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)]
            try runOnThreads(2) { me in
                try pool.transaction(isolation: .serializable) { connection in
                    let attempt = runs.withLock { runs in
                        runs[me] += 1
                        return runs[me]
                    }
                    let value = try connection.query("SELECT value FROM \(table) WHERE id = 1")[0]
                        .decode(0, as: Int.self)
                    if attempt == 1 {
                        // Both transactions have read the same snapshot before either writes.
                        readDone[me].signal()
                        _ = readDone[1 - me].wait(timeout: .now() + .seconds(10))
                    }
                    do {
                        try connection.query(
                            "UPDATE \(table) SET value = $1 WHERE id = 1", [value + 1])
                    } catch let error as PostgresError {
                        errors.withLock { $0.append(error.sqlState ?? "?") }
                        throw error
                    }
                }
            }
            let final = try db.query("SELECT value FROM \(table) WHERE id = 1")[0].decode(0, as: Int.self)
            #expect(final == 2, "both increments are applied exactly once")
            #expect(runs.value.reduce(0, +) > 2, "runs per thread: \(runs.value)")
            #expect(errors.value.contains("40001"), "errors seen: \(errors.value)")
        }
    }

    @Test func givesUpAfterMaxAttempts() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        defer { pool.close() }
        let runs = Shared(0)
        let error = try #require(throws: PostgresError.self) {
            try pool.transaction(maxAttempts: 3) { _ in
                runs.withLock { $0 += 1 }
                throw PostgresError(kind: .server, sqlState: "40P01", message: "deadlock detected")
            }
        }
        #expect(error.isDeadlock)
        #expect(runs.value == 3)

        let once = Shared(0)
        #expect(throws: PostgresError.self) {
            try pool.transaction { _ in
                once.withLock { $0 += 1 }
                throw PostgresError(kind: .server, sqlState: "23505", message: "duplicate")
            }
        }
        #expect(once.value == 1)
    }

    @Test func retriesOnAFreshConnectionWhenThePooledOneDied() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        defer { pool.close() }
        let admin = try TestDatabase.connect()
        let oldPID = try pool.withConnection {
            try $0.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        }
        try TestDatabase.terminateBackend(oldPID, using: admin)
        let newPID = try pool.transaction {
            try $0.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        }
        #expect(newPID != oldPID)
    }
}
