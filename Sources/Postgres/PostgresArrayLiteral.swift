/// One-dimensional PostgreSQL array literals (`{a,"b c",NULL}`) in text format.
enum PostgresArrayLiteral {
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    private static let comma = UInt8(ascii: ",")
    private static let open = UInt8(ascii: "{")
    private static let close = UInt8(ascii: "}")

    /// Quotes every element, escaping `\` and `"`, so no element can be read as NULL or split;
    /// nil elements are written as an unquoted NULL.
    static func format(_ elements: [String?]) -> String {
        var bytes: [UInt8] = []
        // Every element's bytes, its quotes and comma, and a little room for escapes: one allocation.
        bytes.reserveCapacity(elements.reduce(8) { $0 + ($1?.utf8.count ?? 4) + 3 } + elements.count / 4)
        bytes.append(open)
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(comma) }
            guard var element else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(quote)
            element.withUTF8 { source in
                // Most elements (ids, names, numbers) need no escape: copied whole.
                guard source.contains(where: { $0 == quote || $0 == backslash }) else {
                    bytes.append(contentsOf: source)
                    return
                }
                for byte in source {
                    if byte == quote || byte == backslash { bytes.append(backslash) }
                    bytes.append(byte)
                }
            }
            bytes.append(quote)
        }
        bytes.append(close)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses array output; unquoted `NULL` becomes nil. Returns nil for anything but a
    /// one-dimensional array.
    static func parse(_ text: String) -> [String?]? {
        var bytes = Array(text.utf8)[...]
        // Arrays whose lower bound is not 1 are printed with a `[0:2]=` prefix.
        if bytes.first == UInt8(ascii: "["), let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
            bytes = bytes[(equals + 1)...]
        }
        guard bytes.first == open, bytes.last == close else { return nil }
        bytes = bytes.dropFirst().dropLast()
        if bytes.allSatisfy(isSpace) { return [] }

        var elements: [String?] = []
        var index = bytes.startIndex
        while true {
            while index < bytes.endIndex, isSpace(bytes[index]) { index += 1 }
            guard index < bytes.endIndex, bytes[index] != open else { return nil }
            var value: [UInt8] = []
            var quoted = false
            if bytes[index] == quote {
                quoted = true
                index += 1
                while true {
                    guard index < bytes.endIndex else { return nil }
                    let byte = bytes[index]
                    index += 1
                    if byte == quote { break }
                    if byte == backslash {
                        guard index < bytes.endIndex else { return nil }
                        value.append(bytes[index])
                        index += 1
                    } else {
                        value.append(byte)
                    }
                }
                while index < bytes.endIndex, isSpace(bytes[index]) { index += 1 }
            } else {
                while index < bytes.endIndex, bytes[index] != comma {
                    if bytes[index] == backslash, index + 1 < bytes.endIndex { index += 1 }
                    value.append(bytes[index])
                    index += 1
                }
                while let last = value.last, isSpace(last) { value.removeLast() }
            }
            let string = String(decoding: value, as: UTF8.self)
            elements.append(!quoted && string.uppercased() == "NULL" ? nil : string)
            if index == bytes.endIndex { return elements }
            guard bytes[index] == comma else { return nil }
            index += 1
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0d).contains(byte)
    }
}
