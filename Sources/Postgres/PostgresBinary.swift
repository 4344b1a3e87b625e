import Foundation

/// Array parameters in PostgreSQL's binary format. Every batch statement passes its rows as
/// arrays (`unnest($1::uuid[], $2::text[], ...)`); in text format the server parses each array
/// literal (`array_in`, quotes and escapes) and each element's text (`uuid_in`, `timestamptz_in`),
/// which was ~4% of the machine's CPU under `make bench`, besides formatting and quoting them here.
/// In binary each element is its length and its bytes.
///
/// Only arrays of the types below travel in binary, and only when the prepared statement says the
/// parameter is an array of that type (`PQparamtype`); everything else, and any element that has
/// no binary form for the type (an `Int` beyond `int4`, a text holding NUL), goes as text, with
/// the errors text has.
enum PostgresBinary {
    /// Array type OID → element type OID, for the element types with a binary form here.
    static let elementType: [UInt32: UInt32] = [
        1009: 25,  // text[] → text
        1015: 1043,  // varchar[] → varchar
        2951: 2950,  // uuid[] → uuid
        1007: 23,  // int4[] → int4
        1016: 20,  // int8[] → int8
        1000: 16,  // bool[] → bool
        1022: 701,  // float8[] → float8
        1185: 1184,  // timestamptz[] → timestamptz
        1115: 1114,  // timestamp[] → timestamp
    ]

    /// Appends a one-dimensional array of `elements` as the array type `arrayType`; false (nothing
    /// appended) when the type is not one of the above or an element has no binary form for it.
    /// The element types used in statements go through code specialized for them: a generic pass
    /// (dynamic dispatch and metadata lookups per element) cost more than the text it replaced.
    static func appendArray<Element: PostgresEncodable>(_ elements: [Element?], arrayType: UInt32, to out: inout [UInt8]) -> Bool {
        guard let element = elementType[arrayType] else { return false }
        switch Element.self {
        case is UUID.Type: return encode(unsafeBitCast(elements, to: [UUID?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is String.Type: return encode(unsafeBitCast(elements, to: [String?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Int.Type: return encode(unsafeBitCast(elements, to: [Int?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Int32.Type: return encode(unsafeBitCast(elements, to: [Int32?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Int64.Type: return encode(unsafeBitCast(elements, to: [Int64?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Bool.Type: return encode(unsafeBitCast(elements, to: [Bool?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Double.Type: return encode(unsafeBitCast(elements, to: [Double?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Date.Type: return encode(unsafeBitCast(elements, to: [Date?].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        default: return encode(elements, element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        }
    }

    /// The same for an array without NULLs.
    static func appendArray<Element: PostgresEncodable>(_ elements: [Element], arrayType: UInt32, to out: inout [UInt8]) -> Bool {
        guard let element = elementType[arrayType] else { return false }
        switch Element.self {
        case is UUID.Type: return encode(unsafeBitCast(elements, to: [UUID].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is String.Type: return encode(unsafeBitCast(elements, to: [String].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Int.Type: return encode(unsafeBitCast(elements, to: [Int].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Int32.Type: return encode(unsafeBitCast(elements, to: [Int32].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Int64.Type: return encode(unsafeBitCast(elements, to: [Int64].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Bool.Type: return encode(unsafeBitCast(elements, to: [Bool].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Double.Type: return encode(unsafeBitCast(elements, to: [Double].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        case is Date.Type: return encode(unsafeBitCast(elements, to: [Date].self), element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        default: return encode(elements, element, &out) { $0.appendPostgresBinary(for: $1, to: &$2) }
        }
    }

    /// Header (dimensions, NULL flag, element type, length, lower bound 1), then each element as
    /// its length (-1: NULL) and bytes. Rolls back and returns false when `write` does.
    @inline(__always)
    private static func encode<Value>(
        _ elements: [Value?], _ element: UInt32, _ out: inout [UInt8], write: (Value, UInt32, inout [UInt8]) -> Bool
    ) -> Bool {
        let start = out.count
        header(count: elements.count, hasNull: elements.contains { $0 == nil }, element: element, to: &out)
        for value in elements {
            guard let value else {
                append(Int32(-1), to: &out)
                continue
            }
            guard appendElement(value, element, &out, write: write) else {
                out.removeSubrange(start...)
                return false
            }
        }
        return true
    }

    @inline(__always)
    private static func encode<Value>(
        _ elements: [Value], _ element: UInt32, _ out: inout [UInt8], write: (Value, UInt32, inout [UInt8]) -> Bool
    ) -> Bool {
        let start = out.count
        header(count: elements.count, hasNull: false, element: element, to: &out)
        for value in elements {
            guard appendElement(value, element, &out, write: write) else {
                out.removeSubrange(start...)
                return false
            }
        }
        return true
    }

    private static func header(count: Int, hasNull: Bool, element: UInt32, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + 20 + count * 24)
        guard count > 0 else {
            append(Int32(0), to: &out)  // no dimensions
            append(Int32(0), to: &out)
            append(element, to: &out)
            return
        }
        append(Int32(1), to: &out)
        append(Int32(hasNull ? 1 : 0), to: &out)
        append(element, to: &out)
        append(Int32(clamping: count), to: &out)
        append(Int32(1), to: &out)  // lower bound
    }

    /// The element's length (filled in once written), then its bytes.
    @inline(__always)
    private static func appendElement<Value>(
        _ value: Value, _ element: UInt32, _ out: inout [UInt8], write: (Value, UInt32, inout [UInt8]) -> Bool
    ) -> Bool {
        let lengthAt = out.count
        append(Int32(0), to: &out)
        guard write(value, element, &out) else { return false }
        let length = UInt32(out.count - lengthAt - 4)
        out[lengthAt] = UInt8(length >> 24)
        out[lengthAt + 1] = UInt8(truncatingIfNeeded: length >> 16)
        out[lengthAt + 2] = UInt8(truncatingIfNeeded: length >> 8)
        out[lengthAt + 3] = UInt8(truncatingIfNeeded: length)
        return true
    }

    static func append(_ value: Int32, to out: inout [UInt8]) { append(UInt32(bitPattern: value), to: &out) }

    static func append(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(value >> 24))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }

    static func append(_ value: UInt64, to out: inout [UInt8]) {
        append(UInt32(value >> 32), to: &out)
        append(UInt32(truncatingIfNeeded: value), to: &out)
    }

    /// 2000-01-01T00:00:00Z, PostgreSQL's epoch for binary timestamps, in Unix seconds.
    static let postgresEpoch: Int64 = 946_684_800
}

extension String {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        guard type == 25 || type == 1043 else { return false }
        var text = self
        return text.withUTF8 { bytes in
            // NUL is refused in text too; the text path says so.
            guard let base = bytes.baseAddress else { return true }
            guard memchr(base, 0, bytes.count) == nil else { return false }
            out.append(contentsOf: bytes)
            return true
        }
    }
}

extension UUID {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        guard type == 2950 else { return false }
        withUnsafeBytes(of: uuid) { out.append(contentsOf: $0) }
        return true
    }
}

extension Int {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        Int64(self).appendPostgresBinary(for: type, to: &out)
    }
}

extension Int32 {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        Int64(self).appendPostgresBinary(for: type, to: &out)
    }
}

extension Int64 {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        switch type {
        case 20:
            PostgresBinary.append(UInt64(bitPattern: self), to: &out)
            return true
        case 23:
            guard let small = Int32(exactly: self) else { return false }  // the server's "out of range", through text
            PostgresBinary.append(small, to: &out)
            return true
        default:
            return false
        }
    }
}

extension Bool {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        guard type == 16 else { return false }
        out.append(self ? 1 : 0)
        return true
    }
}

extension Double {
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        guard type == 701 else { return false }
        PostgresBinary.append(bitPattern, to: &out)
        return true
    }
}

extension Date {
    /// Microseconds since 2000-01-01 UTC, rounded as the text form rounds them.
    public func appendPostgresBinary(for type: UInt32, to out: inout [UInt8]) -> Bool {
        guard type == 1184 || type == 1114 else { return false }
        let interval = timeIntervalSince1970
        guard abs(interval) < 9e12 else { return false }  // infinity: as text
        let micros = Int64((interval * 1_000_000).rounded()) - PostgresBinary.postgresEpoch * 1_000_000
        PostgresBinary.append(UInt64(bitPattern: micros), to: &out)
        return true
    }
}
