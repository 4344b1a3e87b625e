import AgentCore
import Foundation
import Testing

/// The byte-level JSON reader and writer every envelope goes through.
@Suite("JSON bytes: parse and serialize")
struct JSONBytesTests {
    @Test("Parsing what JSONEncoder wrote gives the value Codable decoding gives")
    func agreesWithCodable() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null],"b":{"c":"d\"e\\f\u00e9\ud83d\ude00\n","e":""},"f":0}"#
        let parsed = try JSONValue.parse(Data(text.utf8))
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(parsed == decoded)
        #expect(try JSONValue.parse(parsed.serialized()) == parsed)
    }

    @Test("Output is compact with sorted keys and integral numbers without a fraction")
    func output() {
        let value: JSONValue = .object(["b": .number(3), "a": .array([.number(1.5), .string("x/y"), .null])])
        #expect(String(decoding: value.serialized(), as: UTF8.self) == #"{"a":[1.5,"x/y",null],"b":3}"#)
    }

    @Test("Invalid JSON is refused with where it went wrong", arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "\"\u{01}\"", "1 2", "tru"])
    func refuses(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(Data(text.utf8)) }
    }
}
