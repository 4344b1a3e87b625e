import CLibPQ
import Foundation

/// A statement's parameters as libpq takes them: each NULL, text, or binary (arrays, see
/// ``PostgresBinary``), chosen by the type the prepared statement gives the parameter.
struct PostgresParameters {
    enum Value {
        case null
        case text(String)
        case binary([UInt8])
    }

    let values: [Value]

    /// Checks the count, encodes each parameter, and refuses text that holds NUL (PostgreSQL
    /// rejects it; libpq would cut the value short).
    init(_ parameters: [(any PostgresEncodable)?], types: [UInt32]) throws {
        guard parameters.count == types.count else {
            throw PostgresError(kind: .usage, message: "the statement takes \(types.count) parameters, \(parameters.count) were given")
        }
        var values: [Value] = []
        values.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            guard let parameter else {
                values.append(.null)
                continue
            }
            if PostgresBinary.elementType[types[index]] != nil {
                var bytes: [UInt8] = []
                if parameter.appendPostgresBinary(for: types[index], to: &bytes) {
                    values.append(.binary(bytes))
                    continue
                }
            }
            let text = parameter.postgresText
            try PostgresConnection.rejectNUL(in: text, what: "parameter $\(index + 1)")
            values.append(.text(text))
        }
        self.values = values
    }

    /// Calls `body` with libpq's parallel arrays (values, lengths, formats), all pointing into one
    /// buffer that lives for the call. Text values end in NUL; binary ones go by their length.
    func withLibPQ<R>(_ body: (_ values: [UnsafePointer<CChar>?], _ lengths: [Int32], _ formats: [Int32]) throws -> R) rethrows -> R {
        var total = 0
        for value in values {
            switch value {
            case .null: break
            case .text(let text): total += text.utf8.count + 1
            case .binary(let bytes): total += bytes.count
            }
        }
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
        defer { storage.deallocate() }
        var offsets: [Int?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        offsets.reserveCapacity(values.count)
        lengths.reserveCapacity(values.count)
        formats.reserveCapacity(values.count)
        var used = 0
        for value in values {
            switch value {
            case .null:
                offsets.append(nil)
                lengths.append(0)
                formats.append(0)
            case .text(var text):
                offsets.append(used)
                text.withUTF8 { bytes in
                    if let base = bytes.baseAddress { UnsafeMutableRawPointer(storage + used).copyMemory(from: base, byteCount: bytes.count) }
                    used += bytes.count
                }
                storage[used] = 0
                used += 1
                lengths.append(0)
                formats.append(0)
            case .binary(let bytes):
                offsets.append(used)
                bytes.withUnsafeBytes { if let base = $0.baseAddress { UnsafeMutableRawPointer(storage + used).copyMemory(from: base, byteCount: $0.count) } }
                used += bytes.count
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        return try body(offsets.map { offset in offset.map { UnsafePointer(storage + $0) } }, lengths, formats)
    }
}
