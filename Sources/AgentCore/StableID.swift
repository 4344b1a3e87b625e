/// A short, stable identifier derived from text (two 64-bit FNV-1a hashes with different seeds),
/// for message ids that must be the same on every retry but fit AMQP's 255-byte limit.
/// Not cryptographic: it names things, it does not protect them.
public enum StableID {
    public static func hex(_ text: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            text.utf8.reduce(seed) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
        }
        let high = fnv(0xCBF2_9CE4_8422_2325)
        let low = fnv(0x84222325_CBF29CE4)
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
