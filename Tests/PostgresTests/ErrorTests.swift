import Foundation
import Postgres
import Testing

/// Server errors arrive as `PostgresError` with the server's fields.
@Suite struct ErrorTests {
    @Test func uniqueViolationCarriesStateAndConstraint() throws {
        let db = try TestDatabase.connect()
        let constraint = TestDatabase.uniqueName("email_key")
        try TestDatabase.withTable(
            "id serial PRIMARY KEY, email text NOT NULL, CONSTRAINT \(constraint) UNIQUE (email)", on: db
        ) { table in
            try db.query("INSERT INTO \(table) (email) VALUES ($1)", ["a@example.com"])
            let error = try #require(throws: PostgresError.self) {
                try db.query("INSERT INTO \(table) (email) VALUES ($1)", ["a@example.com"])
            }
            #expect(error.kind == .server)
            #expect(error.sqlState == "23505")
            #expect(error.isUniqueViolation)
            #expect(!error.isRetryableTransactionFailure && !error.isConnectionFailure)
            #expect(error.constraint == constraint)
            #expect(error.message == "duplicate key value violates unique constraint \"\(constraint)\"")
            #expect(error.detail == "Key (email)=(a@example.com) already exists.")
            #expect(error.description.hasPrefix("SQLSTATE 23505: duplicate key value violates"))
            // The connection is usable after the error (autocommit).
            #expect(try db.query("SELECT count(*) FROM \(table)")[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test func syntaxErrorCarriesServerMessage() throws {
        let db = try TestDatabase.connect()
        let error = try #require(throws: PostgresError.self) { try db.query("SELEC 1") }
        #expect(error.kind == .server)
        #expect(error.sqlState == "42601")
        #expect(error.message == "syntax error at or near \"SELEC\"")
        #expect(error.description == "SQLSTATE 42601: syntax error at or near \"SELEC\"")

        let scriptError = try #require(throws: PostgresError.self) {
            try db.execute(script: "SELECT 1; CREATE TABLE (")
        }
        #expect(scriptError.sqlState == "42601")
        #expect(try db.query("SELECT 1")[0].decode(0, as: Int.self) == 1)
    }

    @Test func decodingErrorsNameTheColumn() throws {
        let db = try TestDatabase.connect()
        let row = try db.query("SELECT 'abc'::text AS word, NULL::int AS nothing")[0]
        let unparsable = try #require(throws: PostgresError.self) { try row.decode("word", as: Int.self) }
        #expect(unparsable.kind == .decoding)
        #expect(unparsable.message.contains("\"word\""))
        let null = try #require(throws: PostgresError.self) { try row.decode(1, as: Int.self) }
        #expect(null.kind == .decoding)
        #expect(null.message.contains("\"nothing\"") && null.message.contains("NULL"))
        #expect(try row.decodeIfPresent("nothing", as: Int.self) == nil)
        let missing = try #require(throws: PostgresError.self) { try row.decode("absent", as: Int.self) }
        #expect(missing.kind == .usage)
    }

    @Test func wrongParameterUseIsReported() throws {
        let db = try TestDatabase.connect()
        let nul = try #require(throws: PostgresError.self) { try db.query("SELECT $1::text", ["a\u{0}b"]) }
        #expect(nul.kind == .usage)
        let count = try #require(throws: PostgresError.self) { try db.query("SELECT $1::int, $2::int", [1]) }
        #expect(count.kind == .usage && !count.isConnectionFailure)
        #expect(count.message == "the statement takes 2 parameters, 1 were given")
        let badInput = try #require(throws: PostgresError.self) { try db.query("SELECT $1::int", ["x"]) }
        #expect(badInput.sqlState == "22P02")
        #expect(try db.query("SELECT $1::int", [5])[0].decode(0, as: Int.self) == 5)
    }
}
