import Foundation
import Postgres
import Testing

/// `PostgresConnection.pipeline`: several statements in one round trip, with `query`'s results
/// and errors.
@Suite struct PipelineTests {
    @Test("Results come back in order, each as query would return it, and later statements see earlier ones")
    func resultsInOrder() throws {
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY, note text", on: db) { table in
            for _ in 0..<2 {  // the second time, every statement is already prepared
                try db.query("DELETE FROM \(table)")
                let results = try db.pipeline([
                    PostgresStatement("INSERT INTO \(table) SELECT g, $1 FROM generate_series(1, $2::int) g", ["n", 3]),
                    PostgresStatement("UPDATE \(table) SET note = $1 WHERE id = $2 RETURNING id", ["two", 2]),
                    PostgresStatement("SELECT id, note FROM \(table) ORDER BY id"),
                ])
                #expect(results.count == 3)
                #expect(results[0].commandTag == "INSERT 0 3")
                #expect(try results[1].map { try $0.decode(0, as: Int.self) } == [2])
                #expect(try results[2].map { try $0.decode(1, as: String.self) } == ["n", "two", "n"])
            }
        }
    }

    @Test("Outside a transaction: the first failing statement throws, the ones after it never run, and the earlier ones roll back")
    func failureStopsThePipeline() throws {
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY", on: db) { table in
            try db.execute(script: "CREATE SEQUENCE \(table)_after")
            defer { try? db.execute(script: "DROP SEQUENCE \(table)_after") }
            let error = try #require(throws: PostgresError.self) {
                try db.pipeline([
                    PostgresStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                    PostgresStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                    PostgresStatement("SELECT nextval('\(table)_after')"),  // a sequence is not rolled back: it shows whether this ran
                ])
            }
            #expect(error.sqlState == "23505")
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 0)
            #expect(try db.query("SELECT is_called FROM \(table)_after")[0].decode(0, as: Bool.self) == false)
            // The same connection left pipeline mode and works as before.
            let backend = try db.query("SELECT pg_backend_pid()")[0].decode(0, as: Int.self)
            let results = try db.pipeline([
                PostgresStatement("INSERT INTO \(table) VALUES ($1)", [4]), PostgresStatement("SELECT pg_backend_pid()"),
            ])
            #expect(try results[1][0].decode(0, as: Int.self) == backend)
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test("Inside a transaction a failure aborts it, and the pooled connection is kept and works")
    func failureInsideATransaction() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        defer { pool.close() }
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY", on: db) { table in
            let backend = try pool.transaction { try $0.query("SELECT pg_backend_pid()")[0].decode(0, as: Int.self) }
            let error = try #require(throws: PostgresError.self) {
                try pool.transaction { connection in
                    try connection.query("INSERT INTO \(table) VALUES ($1)", [9])
                    try connection.pipeline([
                        PostgresStatement("INSERT INTO \(table) VALUES ($1)", [1]), PostgresStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                    ])
                }
            }
            #expect(error.sqlState == "23505")
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 0)
            let after = try pool.transaction { connection in
                try connection.pipeline([
                    PostgresStatement("INSERT INTO \(table) VALUES ($1)", [4]), PostgresStatement("SELECT pg_backend_pid()"),
                ])[1][0].decode(0, as: Int.self)
            }
            #expect(after == backend)
            #expect(try db.query("SELECT array_agg(id)::text FROM \(table)")[0].decode(0, as: String.self) == "{4}")
        }
    }

    @Test("A wrong parameter count is refused before anything is sent")
    func parameterCount() throws {
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY", on: db) { table in
            let error = try #require(throws: PostgresError.self) {
                try db.pipeline([PostgresStatement("INSERT INTO \(table) VALUES ($1)", [1]), PostgresStatement("INSERT INTO \(table) VALUES ($1)")])
            }
            #expect(error.message.contains("takes 1 parameters, 0 were given"))
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 0)
        }
    }
}
