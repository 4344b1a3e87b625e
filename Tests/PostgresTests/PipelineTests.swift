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

    @Test("The first failing statement throws its error and the ones after it do not run; the transaction rolls back")
    func failureStopsThePipeline() throws {
        let pool = try TestDatabase.pool(maxConnections: 1)
        defer { pool.close() }
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY", on: db) { table in
            let error = try #require(throws: PostgresError.self) {
                try pool.transaction { connection in
                    try connection.pipeline([
                        PostgresStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                        PostgresStatement("INSERT INTO \(table) VALUES ($1)", [1]),
                        PostgresStatement("INSERT INTO \(table) VALUES ($1)", [3]),
                    ])
                }
            }
            #expect(error.sqlState == "23505")
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 0)
            // The pooled connection left pipeline mode and works as before.
            try pool.transaction { connection in
                try connection.pipeline([
                    PostgresStatement("INSERT INTO \(table) VALUES ($1)", [4]), PostgresStatement("INSERT INTO \(table) VALUES ($1)", [5]),
                ])
                try connection.query("INSERT INTO \(table) VALUES ($1)", [6])
            }
            #expect(try db.query("SELECT array_agg(id ORDER BY id)::text FROM \(table)")[0].decode(0, as: String.self) == "{4,5,6}")
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
