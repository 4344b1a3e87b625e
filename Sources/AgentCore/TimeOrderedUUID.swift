import Foundation

extension UUID {
    /// A version 7 UUID (RFC 9562): the Unix time in milliseconds in its first 48 bits, then 74
    /// random bits. Event and job ids are these rather than random (version 4) UUIDs so that
    /// each table's index on them takes new ids near its right edge, on pages already in memory,
    /// instead of on a random page of an ever larger index: every job's id goes into five indexes
    /// (jobs, the scheduler's and the cost accountant's rows, allocations, events) (issue 5).
    public static func timeOrdered(at date: Date = Date()) -> UUID {
        var random = SystemRandomNumberGenerator()
        let milliseconds = UInt64(max(0, (date.timeIntervalSince1970 * 1000).rounded(.down)))
        let high = (milliseconds << 16) | 0x7000 | (random.next() & 0x0FFF)  // time, version 7, 12 random bits
        let low = (random.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000  // variant 10, 62 random bits
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { out in
            out.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            out.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return UUID(uuid: bytes)
    }
}
