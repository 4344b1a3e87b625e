/// Hands C a list of NUL-terminated strings that all live in one buffer for the duration of the
/// call, so no pointer outlives its storage. For connection options; statement parameters go
/// through ``PostgresParameters``.
enum CStringArray {
    static func with<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> R)
        rethrows -> R
    {
        var storage: [CChar] = []
        var offsets: [Int?] = []
        offsets.reserveCapacity(strings.count)
        for string in strings {
            guard let string else {
                offsets.append(nil)
                continue
            }
            offsets.append(storage.count)
            storage.append(contentsOf: string.utf8.map { CChar(bitPattern: $0) })
            storage.append(0)
        }
        return try storage.withUnsafeBufferPointer { buffer in
            try body(offsets.map { offset in offset.map { UnsafePointer(buffer.baseAddress! + $0) } })
        }
    }
}
