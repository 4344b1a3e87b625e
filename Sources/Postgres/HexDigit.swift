/// Hexadecimal digits in text PostgreSQL and UUIDs use (bytea `\x…`, `1f0c9a2b-…`).
enum HexDigit {
    /// The value of an ASCII hex digit in either case, nil for any other byte.
    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
