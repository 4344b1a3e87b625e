import CLibPQ
import Foundation

/// A statement's parameters as libpq takes them, written into one buffer: each NULL, text
/// (NUL-terminated), or binary (arrays, see ``PostgresBinary``), chosen by the type the prepared
/// statement gives the parameter.
struct PostgresParameters {
    private var storage: [UInt8] = []
    /// Per parameter: where its bytes start in `storage`, nil for NULL.
    private var offsets: [Int?] = []
    /// Per parameter: the length of binary values (libpq ignores it for text).
    private var lengths: [Int32] = []
    /// Per parameter: 0 text, 1 binary.
    private var formats: [Int32] = []

    /// Checks the count, encodes each parameter, and refuses text that holds NUL (PostgreSQL
    /// rejects it; libpq would cut the value short).
    init(_ parameters: [(any PostgresEncodable)?], types: [UInt32]) throws {
        guard parameters.count == types.count else {
            throw PostgresError(kind: .usage, message: "the statement takes \(types.count) parameters, \(parameters.count) were given")
        }
        offsets.reserveCapacity(parameters.count)
        lengths.reserveCapacity(parameters.count)
        formats.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            guard let parameter else {
                offsets.append(nil)
                lengths.append(0)
                formats.append(0)
                continue
            }
            let start = storage.count
            offsets.append(start)
            // Binary only for the array types PostgresBinary knows; a value appends nothing when
            // it has no binary form for the type, and goes as text below.
            if PostgresBinary.elementType[types[index]] != nil, parameter.appendPostgresBinary(for: types[index], to: &storage) {
                lengths.append(Int32(storage.count - start))
                formats.append(1)
                continue
            }
            var text = parameter.postgresText
            try PostgresConnection.rejectNUL(in: text, what: "parameter $\(index + 1)")
            text.withUTF8 { storage.append(contentsOf: $0) }
            storage.append(0)
            lengths.append(0)
            formats.append(0)
        }
    }

    /// Calls `body` with libpq's parallel arrays (values, lengths, formats), the values pointing
    /// into the buffer, which lives for the call.
    func withLibPQ<R>(_ body: (_ values: [UnsafePointer<CChar>?], _ lengths: [Int32], _ formats: [Int32]) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress)
            return try body(
                offsets.map { offset in offset.flatMap { offset in base.map { $0.advanced(by: offset).assumingMemoryBound(to: CChar.self) } } },
                lengths, formats)
        }
    }
}
