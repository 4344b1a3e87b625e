import Foundation
import Postgres
import Testing

/// Values written as parameters come back unchanged.
@Suite struct RoundTripTests {
    static let awkwardStrings = [
        "", "plain", "héllo wörld 🌍 中文 עברית", "it's", "say \"hi\"", "back\\slash \\x00 \\n",
        "line\nbreak\ttab", "'; DROP TABLE x; --", "$1", "{a,b}", "NULL", " padded ",
    ]

    @Test func everyScalarTypeAndNull() throws {
        let db = try TestDatabase.connect()
        try TestDatabase.withTable(
            """
            id int PRIMARY KEY, s text, n bigint, i32 integer, i64 bigint, d double precision,
            b boolean, u uuid, t timestamptz, bin bytea, j jsonb
            """, on: db
        ) { table in
            let uuid = UUID()
            let date = Date(timeIntervalSince1970: 1_795_298_100.123456)
            let bytes = Data((0...255).map { UInt8($0) })
            let json = PostgresJSON(#"{"quote": "it's \"fine\"", "n": [1, 2]}"#)
            let inserted = try db.query(
                "INSERT INTO \(table) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                [1, "zürich 🚀", Int.max, Int32.min, Int64.min, 0.1, true, uuid, date, bytes, json])
            #expect(inserted.rowsAffected == 1)
            try db.query(
                "INSERT INTO \(table) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                [2, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil])

            let rows = try db.query("SELECT * FROM \(table) ORDER BY id")
            #expect(rows.count == 2)
            #expect(rows.columns == ["id", "s", "n", "i32", "i64", "d", "b", "u", "t", "bin", "j"])
            let row = rows[0]
            #expect(try row.decode("s", as: String.self) == "zürich 🚀")
            #expect(try row.decode("n", as: Int.self) == Int.max)
            #expect(try row.decode("i32", as: Int32.self) == Int32.min)
            #expect(try row.decode("i64", as: Int64.self) == Int64.min)
            #expect(try row.decode("d", as: Double.self) == 0.1)
            #expect(try row.decode("b", as: Bool.self) == true)
            #expect(try row.decode("u", as: UUID.self) == uuid)
            let readDate = try row.decode("t", as: Date.self)
            #expect(abs(readDate.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001)
            #expect(readDate.postgresText == "2026-11-21T21:55:00.123456Z")
            #expect(try row.decode("bin", as: Data.self) == bytes)
            let readJSON = try row.decode("j", as: PostgresJSON.self)
            #expect(try readJSON.decode(as: [String: AnyCodableValue].self)["quote"] == .string("it's \"fine\""))

            let empty = rows[1]
            for column in 1..<rows.columns.count {
                #expect(empty.isNull(column))
                #expect(try empty.decodeIfPresent(column, as: String.self) == nil)
            }
            #expect(try empty.decodeIfPresent("u", as: UUID.self) == nil)
            #expect(!row.isNull(0))
        }
    }

    @Test func awkwardStringsAreStoredVerbatim() throws {
        let db = try TestDatabase.connect()
        try TestDatabase.withTable("id int PRIMARY KEY, s text NOT NULL", on: db) { table in
            for (id, value) in Self.awkwardStrings.enumerated() {
                try db.query("INSERT INTO \(table) (id, s) VALUES ($1, $2)", [id, value])
            }
            let rows = try db.query("SELECT s, length(s) AS len FROM \(table) ORDER BY id")
            #expect(try rows.map { try $0.decode(0, as: String.self) } == Self.awkwardStrings)
            #expect(try rows.map { try $0.decode("len", as: Int.self) } == Self.awkwardStrings.map(\.count))
            // The injection attempt was data: the table is still there and the value is exact.
            let found = try db.query("SELECT id FROM \(table) WHERE s = $1", ["'; DROP TABLE x; --"])
            #expect(found.count == 1)
        }
    }

    @Test func arraysWithSpecialCharacters() throws {
        let db = try TestDatabase.connect()
        let strings = Self.awkwardStrings + ["with,comma", "{braces}", "a\"b\\c"]
        let text = try db.query("SELECT $1::text[] AS a, cardinality($1::text[]) AS n", [strings])
        #expect(try text[0].decode("a", as: [String].self) == strings)
        #expect(try text[0].decode("n", as: Int.self) == strings.count)

        let numbers: [Int64] = [Int64.min, -1, 0, 42, Int64.max]
        #expect(try db.query("SELECT $1::bigint[]", [numbers])[0].decode(0, as: [Int64].self) == numbers)

        let ids = [UUID(), UUID(), UUID()]
        let picked = try db.query(
            "SELECT u FROM unnest($1::uuid[]) AS u WHERE u = ANY($2::uuid[])", [ids, [ids[1]]])
        #expect(try picked.map { try $0.decode(0, as: UUID.self) } == [ids[1]])
        #expect(try db.query("SELECT $1::uuid[]", [ids])[0].decode(0, as: [UUID].self) == ids)

        #expect(try db.query("SELECT $1::text[]", [[String]()])[0].decode(0, as: [String].self) == [])
        let blobs = [Data([0, 1]), Data(), Data([0xff])]
        #expect(try db.query("SELECT $1::bytea[]", [blobs])[0].decode(0, as: [Data].self) == blobs)
    }

    @Test func numbersAtTheEdges() throws {
        let db = try TestDatabase.connect()
        for value in [0.1, -1.5e300, Double.greatestFiniteMagnitude, .infinity, -.infinity, 1e-300, -0.0] {
            let back = try db.query("SELECT $1::float8", [value])[0].decode(0, as: Double.self)
            #expect(back == value)
        }
        #expect(try db.query("SELECT $1::float8", [Double.nan])[0].decode(0, as: Double.self).isNaN)
        #expect(try db.query("SELECT $1::int4", [Int32.max])[0].decode(0, as: Int32.self) == .max)
        #expect(try db.query("SELECT $1::bool, $2::bool", [true, false])[0].decode(1, as: Bool.self) == false)
    }

    @Test func timestampsFromTheServer() throws {
        let db = try TestDatabase.connect()
        let row = try db.query(
            """
            SELECT '2026-11-24 21:55:00.123456+00'::timestamptz AS a,
                   '2026-11-24 23:55:00+02'::timestamptz AS b,
                   '1901-06-30 12:00:00.5'::timestamp AS c,
                   '2024-02-29'::date AS d,
                   '0044-03-15 12:00:00+00 BC'::timestamptz AS e
            """)[0]
        #expect(try row.decode("a", as: Date.self).postgresText == "2026-11-24T21:55:00.123456Z")
        #expect(try row.decode("b", as: Date.self).postgresText == "2026-11-24T21:55:00.000000Z")
        #expect(try row.decode("c", as: Date.self).postgresText == "1901-06-30T12:00:00.500000Z")
        #expect(try row.decode("d", as: Date.self).postgresText == "2024-02-29T00:00:00.000000Z")
        #expect(try row.decode("e", as: Date.self).postgresText == "0044-03-15 12:00:00.000000+00 BC")

        for date in [Date(timeIntervalSince1970: -1_234_567_890.25), Date(timeIntervalSince1970: 0),
                     Date(timeIntervalSince1970: 4_102_444_800.999999)] {
            let text = try db.query("SELECT $1::timestamptz::text", [date])[0].decode(0, as: String.self)
            let back = try db.query("SELECT $1::timestamptz", [date])[0].decode(0, as: Date.self)
            #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 0.000_001, "\(text)")
            #expect(back.postgresText == date.postgresText)
        }
    }
}

/// Just enough JSON to read a decoded jsonb document back in a test.
enum AnyCodableValue: Decodable, Equatable {
    case string(String), other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = (try? container.decode(String.self)).map(AnyCodableValue.string) ?? .other
    }
}
