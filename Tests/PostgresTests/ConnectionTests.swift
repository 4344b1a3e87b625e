import Foundation
import Postgres
import Testing

@Suite struct ConnectionTests {
    /// The test URL with its password replaced (URI or key=value form).
    static func url(withPassword password: String) throws -> String {
        let url = try TestDatabase.url()
        if var components = URLComponents(string: url), components.scheme?.hasPrefix("postgres") == true {
            components.password = password
            if components.user == nil { components.user = "postgres" }
            return try #require(components.string)
        }
        return url + " password='\(password)'"
    }

    @Test func badPasswordIsAConnectionErrorThatHidesThePassword() throws {
        let password = "Wrong-\(UUID().uuidString)"
        let url = try Self.url(withPassword: password)
        let error = try #require(
            throws: PostgresError.self,
            "the server accepted a wrong password: run it with scram-sha-256 (or md5) auth for TCP"
        ) { try PostgresConnection(url: url) }
        #expect(error.kind == .connection)
        #expect(error.isConnectionFailure)
        #expect(error.message.contains("password authentication failed"), "\(error)")
        for text in [error.description, String(reflecting: error), error.message] {
            #expect(!text.contains(password))
            #expect(!text.contains(url))
        }
    }

    @Test func unreachableServerAndMalformedURLHideThePassword() throws {
        let secret = "S3cret-\(UUID().uuidString)"
        let refused = try #require(throws: PostgresError.self) {
            try PostgresConnection(url: "postgresql://agent:\(secret)@127.0.0.1:1/db?connect_timeout=2")
        }
        #expect(refused.kind == .connection)
        #expect(!String(reflecting: refused).contains(secret))

        // libpq would echo the stray word after the password in its parse error.
        let malformed = try #require(throws: PostgresError.self) {
            try PostgresConnection(url: "host=127.0.0.1 password=abc \(secret)")
        }
        #expect(malformed.kind == .connection)
        #expect(malformed.message.hasPrefix("invalid connection string"))
        #expect(!String(reflecting: malformed).contains(secret))
    }

    @Test func sessionIsSetUpForUTCAndISO() throws {
        let db = try TestDatabase.connect()
        let row = try db.query(
            "SELECT current_setting('TimeZone'), current_setting('DateStyle'), "
                + "current_setting('application_name'), current_setting('client_encoding')")[0]
        #expect(try row.decode(0, as: String.self) == "UTC")
        #expect(try row.decode(1, as: String.self).hasPrefix("ISO"))
        #expect(try row.decode(2, as: String.self) == "PostgresTests")
        #expect(try row.decode(3, as: String.self) == "UTF8")
        #expect(!db.isBroken)
    }

    @Test func preparedStatementsAreCachedAndBounded() throws {
        let db = try TestDatabase.connect()
        let countSQL = "SELECT count(*) FROM pg_prepared_statements"
        try db.query(countSQL)
        let before = try db.query(countSQL)[0].decode(0, as: Int.self)
        for _ in 0..<5 { try db.query("SELECT $1::int + 1", [1]) }
        #expect(try db.query(countSQL)[0].decode(0, as: Int.self) == before + 1)

        for n in 0..<300 {
            let value = try db.query("SELECT $1::int + \(n)", [1])[0].decode(0, as: Int.self)
            #expect(value == n + 1)
        }
        let prepared = try db.query(countSQL)[0].decode(0, as: Int.self)
        #expect(prepared <= 256 && prepared > 200, "server holds \(prepared) prepared statements")
        // An evicted statement is simply prepared again.
        #expect(try db.query("SELECT $1::int + 0", [7])[0].decode(0, as: Int.self) == 7)

        // The server forgetting every statement is recovered from outside a transaction.
        try db.execute(script: "DEALLOCATE ALL")
        #expect(try db.query("SELECT $1::int + 1", [1])[0].decode(0, as: Int.self) == 2)
    }

    @Test func closedConnectionRefusesWork() throws {
        let db = try TestDatabase.connect()
        db.close()
        #expect(db.isBroken)
        let error = try #require(throws: PostgresError.self) { try db.query("SELECT 1") }
        #expect(error.kind == .usage)
        db.close()  // idempotent
    }

    @Test func terminatedBackendMakesTheConnectionBroken() throws {
        let victim = try TestDatabase.connect()
        let admin = try TestDatabase.connect()
        let pid = try victim.query("SELECT pg_backend_pid()")[0].decode(0, as: Int32.self)
        try TestDatabase.terminateBackend(pid, using: admin)
        let error = try #require(throws: PostgresError.self) { try victim.query("SELECT 1") }
        #expect(error.isConnectionFailure, "\(error)")
        #expect(victim.isBroken)
    }
}
