import Foundation

/// Hands C a list of NUL-terminated strings that all live in one buffer for the duration of the
/// call, so no pointer outlives its storage.
enum CStringArray {
    static func with<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) throws -> R)
        rethrows -> R
    {
        var total = 0
        for string in strings { total += (string?.utf8.count ?? 0) + 1 }
        var offsets: [Int?] = []
        offsets.reserveCapacity(strings.count)
        // One allocation, each string copied whole (a statement's array parameters run to tens of
        // kilobytes: copying them byte by byte was a few % of a worker's CPU).
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
        defer { storage.deallocate() }
        var used = 0
        for var string in strings {
            guard string != nil else {
                offsets.append(nil)
                continue
            }
            offsets.append(used)
            string!.withUTF8 { bytes in
                if let base = bytes.baseAddress { UnsafeMutableRawPointer(storage + used).copyMemory(from: base, byteCount: bytes.count) }
                used += bytes.count
            }
            storage[used] = 0
            used += 1
        }
        return try body(offsets.map { offset in offset.map { UnsafePointer(storage + $0) } })
    }
}
