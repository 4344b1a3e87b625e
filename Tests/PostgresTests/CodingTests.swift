import Foundation
import Postgres
import Testing

/// Text encoding and decoding that needs no server.
@Suite struct CodingTests {
    @Test func arrayLiteralQuotesEveryElement() {
        #expect(["a", "b\"c"].postgresText == #"{"a","b\"c"}"#)
        #expect(["back\\slash", "", "NULL"].postgresText == #"{"back\\slash","","NULL"}"#)
        #expect([Int64]().postgresText == "{}")
        #expect([1, 2].postgresText == #"{"1","2"}"#)
    }

    @Test func arrayLiteralParsesServerOutput() throws {
        #expect(try [String].decode(postgresText: #"{a,"b c","x\\y","q\"t",""}"#)
            == ["a", "b c", "x\\y", "q\"t", ""])
        #expect(try [String].decode(postgresText: "{}") == [])
        #expect(try [String].decode(postgresText: #"{"NULL"}"#) == ["NULL"])
        #expect(try [Int64].decode(postgresText: "[0:1]={7,-8}") == [7, -8])
        #expect(throws: PostgresError.self) { try [String].decode(postgresText: "{a,NULL}") }
        #expect(throws: PostgresError.self) { try [Int64].decode(postgresText: "{{1,2},{3,4}}") }
        #expect(throws: PostgresError.self) { try [Int64].decode(postgresText: "{1,x}") }
        #expect(throws: PostgresError.self) { try [String].decode(postgresText: "{\"open}") }
    }

    @Test("UUID text: the same as Foundation's, both cases, and nothing but the canonical form parses")
    func uuidText() throws {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(id.lowercaseText == id.uuidString.lowercased())
            #expect(id.uppercaseText == id.uuidString)
            #expect(UUID(text: id.lowercaseText) == id)
            #expect(UUID(text: id.uppercaseText) == id)
            #expect(try UUID.decode(postgresText: id.lowercaseText) == id)
        }
        let fixed = try #require(UUID(text: "00ff10Ab-7d3e-4a5b-9c1d-2e3f4a5b6c7d"))
        #expect(fixed.lowercaseText == "00ff10ab-7d3e-4a5b-9c1d-2e3f4a5b6c7d")
        for bad in [
            "", "00ff10ab-7d3e-4a5b-9c1d-2e3f4a5b6c7", "00ff10ab-7d3e-4a5b-9c1d-2e3f4a5b6c7d0", "00ff10ab7d3e-4a5b-9c1d-2e3f4a5b6c7d0",
            "00ff10ab-7d3e-4a5b-9c1d-2e3f4a5b6c7g", "{0ff10ab-7d3e-4a5b-9c1d-2e3f4a5b6c7d", "00ff10ab-7d3e-4a5b-9c1d_2e3f4a5b6c7d",
            "00ff10ab-7d3e-4a5b-9c1d-2e3f4a5b6c7é",
        ] {
            #expect(UUID(text: bad) == nil, "\(bad)")
            #expect(UUID(text: bad) == UUID(uuidString: bad), "\(bad)")
        }
    }

    @Test func timestampFormatAndParse() throws {
        let date = try Date.decode(postgresText: "2026-11-24 21:55:00.123456+00")
        #expect(date.postgresText == "2026-11-24T21:55:00.123456Z")
        #expect(try Date.decode(postgresText: "2026-11-24 21:55:00+00").postgresText
            == "2026-11-24T21:55:00.000000Z")
        #expect(try Date.decode(postgresText: "2026-11-24 23:55:00.5+02").postgresText
            == "2026-11-24T21:55:00.500000Z")
        #expect(try Date.decode(postgresText: "2026-11-24 16:25:00-05:30").postgresText
            == "2026-11-24T21:55:00.000000Z")
        #expect(try Date.decode(postgresText: "1969-12-31 23:59:59.999999+00").postgresText
            == "1969-12-31T23:59:59.999999Z")
        #expect(try Date.decode(postgresText: "2024-02-29").postgresText == "2024-02-29T00:00:00.000000Z")
        #expect(try Date.decode(postgresText: "0044-03-15 12:00:00+00 BC").postgresText
            == "0044-03-15 12:00:00.000000+00 BC")
        #expect(try Date.decode(postgresText: "infinity") == .distantFuture)
        for bad in ["", "2026-13-01", "2026-11-24 25:00", "yesterday", "2026-11-24 21:55:00+00 junk"] {
            #expect(throws: PostgresError.self, "\(bad)") { try Date.decode(postgresText: bad) }
        }
    }

    @Test func scalarText() throws {
        #expect(true.postgresText == "t" && false.postgresText == "f")
        #expect(try Bool.decode(postgresText: "t") && !(try Bool.decode(postgresText: "f")))
        #expect(Double.infinity.postgresText == "Infinity")
        #expect((-Double.infinity).postgresText == "-Infinity")
        #expect(Double.nan.postgresText == "NaN")
        #expect(Data([0x00, 0xab, 0xff]).postgresText == "\\x00abff")
        #expect(try Data.decode(postgresText: "\\x00ABff") == Data([0x00, 0xab, 0xff]))
        #expect(throws: PostgresError.self) { try Data.decode(postgresText: "\\x0") }
        #expect(throws: PostgresError.self) { try Int.decode(postgresText: "12a") }
        #expect(throws: PostgresError.self) { try Int32.decode(postgresText: "2147483648") }
    }

    @Test func errorDescriptions() {
        let error = PostgresError(
            kind: .server, sqlState: "23505", message: "duplicate key value violates unique constraint \"k\"",
            detail: "Key (email)=(a@example.com) already exists.", constraint: "k")
        #expect(error.description == "SQLSTATE 23505: duplicate key value violates unique constraint \"k\"")
        #expect(!error.description.contains("a@example.com"))
        #expect(String(reflecting: error).contains("a@example.com"))
        #expect(error.isUniqueViolation && !error.isRetryableTransactionFailure)
        #expect(PostgresError(kind: .server, sqlState: "40P01", message: "").isRetryableTransactionFailure)
        #expect(PostgresError(kind: .server, sqlState: "08006", message: "").isConnectionFailure)
        #expect(PostgresError(kind: .server, sqlState: "57P01", message: "").isConnectionFailure)
        #expect(!PostgresError(kind: .server, sqlState: "57014", message: "").isConnectionFailure)
        #expect(PostgresError(kind: .pool, message: "busy").description == "pool error: busy")
    }
}
