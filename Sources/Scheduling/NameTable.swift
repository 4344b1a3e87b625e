/// Numbers for a set of names (tenants, flavors), given in order. Few names (the usual case) are
/// found by comparing against each in turn, which costs less than hashing the string; many by a
/// dictionary.
struct NameTable: Sendable {
    let names: [String]
    private let numbers: [String: Int]
    private static let scanLimit = 16

    init(_ names: [String]) {
        self.names = names
        numbers = names.count > Self.scanLimit ? Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: min) : [:]
    }

    func number(_ name: String) -> Int? {
        guard names.count <= Self.scanLimit else { return numbers[name] }
        for (number, candidate) in names.enumerated() where candidate == name { return number }
        return nil
    }
}
