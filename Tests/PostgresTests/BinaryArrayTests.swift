import Foundation
import Postgres
import Testing

/// Array parameters travel in binary (PostgresBinary): what the server reads must be exactly what
/// the same values sent as text would have given, including NULLs, empty arrays and the edges of
/// each type; values with no binary form fall back to text with text's errors.
@Suite struct BinaryArrayTests {
    /// The server's own text rendering of `$1::<type>[]` sent as given, and of the same values
    /// sent as an array literal (text), must agree.
    private func serverText(_ db: PostgresConnection, _ type: String, _ value: any PostgresEncodable) throws -> (binary: String, text: String) {
        let binary = try db.query("SELECT $1::\(type)[]::text", [value])[0].decode(0, as: String.self)
        let text = try db.query("SELECT $1::text::\(type)[]::text", [value.postgresText])[0].decode(0, as: String.self)
        return (binary, text)
    }

    @Test("Every array type sent in binary reads back as its text form would")
    func binaryMatchesText() throws {
        let db = try TestDatabase.connect()
        let cases: [(String, any PostgresEncodable)] = [
            ("text", RoundTripTests.awkwardStrings + ["with,comma", "{braces}", "a\"b\\c", "NULL"]),
            ("varchar", ["a", "ünï", ""]),
            ("uuid", [UUID(), UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, UUID(uuidString: "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF")!]),
            ("int4", [Int(Int32.min), -1, 0, 7, Int(Int32.max)]),
            ("int4", [Int32.min, 0, Int32.max]),
            ("int8", [Int.min, -1, 0, Int.max]),
            ("int8", [Int64.min, Int64.max]),
            ("bool", [true, false, true]),
            ("float8", [0.1, -1.5e300, 1e-300, -0.0, Double.greatestFiniteMagnitude]),
            ("timestamptz", [
                Date(timeIntervalSince1970: 1_795_298_100.123456), Date(timeIntervalSince1970: 0),
                Date(timeIntervalSince1970: -1_234_567_890.25), Date(timeIntervalSince1970: 946_684_800),
                Date(timeIntervalSince1970: 4_102_444_800.999999),
            ]),
            ("timestamp", [Date(timeIntervalSince1970: 1_795_298_100.5)]),
        ]
        for (type, value) in cases {
            let (binary, text) = try serverText(db, type, value)
            #expect(binary == text, "\(type)[]")
        }
    }

    @Test("NULL elements and empty arrays")
    func nullsAndEmpty() throws {
        let db = try TestDatabase.connect()
        let strings = PostgresNullableArray<String>(["a", nil, "NULL", nil])
        let row = try db.query(
            "SELECT $1::text[]::text, array_length($1::text[], 1), $1::text[] IS NULL, ($1::text[])[2] IS NULL, ($1::text[])[3]",
            [strings])[0]
        #expect(try row.decode(0, as: String.self) == #"{a,NULL,"NULL",NULL}"#)
        #expect(try row.decode(1, as: Int.self) == 4)
        #expect(try row.decode(2, as: Bool.self) == false)
        #expect(try row.decode(3, as: Bool.self) == true)
        #expect(try row.decode(4, as: String.self) == "NULL")  // a string, not SQL NULL

        let ids = PostgresNullableArray<UUID>([nil, UUID(uuidString: "01234567-89ab-cdef-0123-456789abcdef")!])
        #expect(try db.query("SELECT $1::uuid[]::text", [ids])[0].decode(0, as: String.self) == "{NULL,01234567-89ab-cdef-0123-456789abcdef}")

        for type in ["text", "uuid", "int4", "int8", "bool", "timestamptz"] {
            let empty = try db.query("SELECT $1::\(type)[]::text, cardinality($1::\(type)[])", [[String]()])[0]
            #expect(try empty.decode(0, as: String.self) == "{}", "\(type)[]")
            #expect(try empty.decode(1, as: Int.self) == 0)
        }
        let none: [Int]? = nil
        #expect(try db.query("SELECT $1::int4[] IS NULL", [none])[0].decode(0, as: Bool.self))
    }

    @Test("Rows written through unnest of binary arrays are the values given")
    func unnestInsert() throws {
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id uuid PRIMARY KEY, name text, n int4, big int8, ok bool, at timestamptz", on: db) { table in
            let ids = (0..<500).map { _ in UUID() }
            let names = (0..<500).map { "job-\($0) \"quoted\" \\ ü" }
            let numbers = (0..<500).map { $0 * 7 - 1_000 }
            let bigs = (0..<500).map { Int64($0) << 40 }
            let flags = (0..<500).map { $0 % 3 == 0 }
            let dates = (0..<500).map { Date(timeIntervalSince1970: 1_800_000_000 + Double($0) * 0.000_25) }
            let inserted = try db.query(
                "INSERT INTO \(table) SELECT * FROM unnest($1::uuid[], $2::text[], $3::int4[], $4::int8[], $5::bool[], $6::timestamptz[])",
                [ids, names, numbers, bigs, flags, dates])
            #expect(inserted.rowsAffected == 500)
            let rows = try db.query("SELECT id, name, n, big, ok, at FROM \(table) WHERE id = ANY($1::uuid[])", [Array(ids[100..<110])])
            #expect(rows.count == 10)
            for row in rows {
                let index = ids.firstIndex(of: try row.decode(0, as: UUID.self))!
                #expect(try row.decode(1, as: String.self) == names[index])
                #expect(try row.decode(2, as: Int.self) == numbers[index])
                #expect(try row.decode(3, as: Int64.self) == bigs[index])
                #expect(try row.decode(4, as: Bool.self) == flags[index])
                #expect(try row.decode(5, as: Date.self).postgresText == dates[index].postgresText)
            }
        }
    }

    @Test("Values without a binary form go as text, with text's errors")
    func fallbacks() throws {
        let db = try TestDatabase.connect()
        // Beyond int4: the server says so, as it would for the literal.
        #expect(throws: PostgresError.self) { try db.query("SELECT $1::int4[]", [[1, Int(Int32.max) + 1]]) }
        // NUL inside text: refused before anything is sent, naming the parameter.
        let error = #expect(throws: PostgresError.self) { try db.query("SELECT $1::text[]", [["ok", "bad\u{0}"]]) }
        #expect(error?.kind == .usage)
        #expect("\(error!)".contains("parameter $1"))
        // Beyond what microseconds in an Int64 hold: sent as text, which says infinity.
        let far = try db.query("SELECT $1::timestamptz[]::text", [[Date(timeIntervalSince1970: 1e13), .distantFuture]])[0]
        #expect(try far.decode(0, as: String.self) == #"{infinity,"4001-01-01 00:00:00+00"}"#)
        // numeric has no binary form here: text, exact.
        let money = try db.query("SELECT $1::numeric[]::text", [[Decimal(string: "12.34")!, Decimal(string: "-0.01")!]])[0]
        #expect(try money.decode(0, as: String.self) == "{12.34,-0.01}")
        // An array parameter the statement types as text (no cast) is sent as its literal.
        #expect(try db.query("SELECT $1", [[1, 2]])[0].decode(0, as: String.self) == #"{"1","2"}"#)
        // The connection is fine afterwards.
        #expect(try db.query("SELECT 1")[0].decode(0, as: Int.self) == 1)
    }

    @Test("Pipelined statements take binary arrays too")
    func pipeline() throws {
        let db = try TestDatabase.connect()
        let ids = [UUID(), UUID()]
        let results = try db.pipeline([
            PostgresStatement("SELECT cardinality($1::uuid[])", [ids]),
            PostgresStatement("SELECT $1::int8[]::text", [[Int64(-5), 9]]),
            PostgresStatement("SELECT $1::text[]::text", [["x y", "z"]]),
        ])
        #expect(try results[0][0].decode(0, as: Int.self) == 2)
        #expect(try results[1][0].decode(0, as: String.self) == "{-5,9}")
        #expect(try results[2][0].decode(0, as: String.self) == #"{"x y",z}"#)
    }
}
