import Foundation

/// Converts `Date` to and from PostgreSQL timestamp text with microsecond precision, using plain
/// calendar arithmetic (proleptic Gregorian, UTC) rather than `DateFormatter`.
enum PostgresTimestamp {
    /// `2026-11-24T21:55:00.123456Z`; years before 1 AD as `0044-03-15 12:00:00.000000+00 BC`.
    /// Dates beyond what microseconds in an Int64 can hold become `infinity` / `-infinity`.
    static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        guard abs(interval) < 9e12 else { return interval < 0 ? "-infinity" : "infinity" }
        let micros = Int64((interval * 1_000_000).rounded())
        let (seconds, fraction) = floorDivide(micros, 1_000_000)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let (year, month, day) = civil(fromDays: Int(days))
        let time =
            "\(pad(Int(secondOfDay / 3600), 2)):\(pad(Int(secondOfDay % 3600 / 60), 2))"
            + ":\(pad(Int(secondOfDay % 60), 2)).\(pad(Int(fraction), 6))"
        if year <= 0 {
            return "\(pad(1 - year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(time)+00 BC"
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(time)Z"
    }

    /// Parses `YYYY-MM-DD[( |T)HH:MM:SS[.ffffff]][Z|±HH[:MM[:SS]]][ BC]`, plus `infinity`.
    static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        var scanner = Scanner(Array(text.utf8))
        guard var year = scanner.number(minDigits: 4, maxDigits: 9), scanner.skip("-"),
            let month = scanner.number(exactly: 2), scanner.skip("-"),
            let day = scanner.number(exactly: 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var secondOfDay = 0
        var micros = 0
        var offset = 0
        if scanner.skip(" ") || scanner.skip("T") {
            guard let hour = scanner.number(exactly: 2), scanner.skip(":"),
                let minute = scanner.number(exactly: 2), scanner.skip(":"),
                let second = scanner.number(exactly: 2), hour <= 24, minute < 60, second <= 60
            else { return nil }
            secondOfDay = hour * 3600 + minute * 60 + second
            if scanner.skip(".") {
                guard let (value, digits) = scanner.digits(max: 9), digits > 0 else { return nil }
                micros = digits <= 6 ? value * power10(6 - digits) : value / power10(digits - 6)
            }
            if scanner.skip("Z") {
            } else if let sign = scanner.sign() {
                guard let hours = scanner.number(exactly: 2) else { return nil }
                var seconds = hours * 3600
                if scanner.skip(":") {
                    guard let minutes = scanner.number(exactly: 2) else { return nil }
                    seconds += minutes * 60
                    if scanner.skip(":") {
                        guard let extra = scanner.number(exactly: 2) else { return nil }
                        seconds += extra
                    }
                }
                offset = sign * seconds
            }
        }
        if scanner.skip(" BC") { year = 1 - year }
        guard scanner.atEnd else { return nil }
        let seconds = days(fromCivil: year, month, day) * 86_400 + secondOfDay - offset
        // One rounding step: the exact microsecond count, then a single division.
        return Date(timeIntervalSince1970: Double(seconds * 1_000_000 + micros) / 1_000_000)
    }

    // Howard Hinnant's days_from_civil / civil_from_days (1970-01-01 is day 0).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra =
            (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let remainder = a % b
        return remainder < 0 ? (a / b - 1, remainder + b) : (a / b, remainder)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func power10(_ exponent: Int) -> Int {
        (0..<exponent).reduce(1) { result, _ in result * 10 }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func skip(_ literal: String) -> Bool {
            let expected = Array(literal.utf8)
            guard bytes.count - index >= expected.count,
                Array(bytes[index..<index + expected.count]) == expected
            else { return false }
            index += expected.count
            return true
        }

        mutating func sign() -> Int? {
            if skip("+") { return 1 }
            if skip("-") { return -1 }
            return nil
        }

        mutating func digits(max: Int) -> (value: Int, count: Int)? {
            var value = 0
            var count = 0
            while index < bytes.count, count < max, (48...57).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 48)
                count += 1
                index += 1
            }
            // Ignore digits beyond `max` (sub-microsecond precision is not representable anyway).
            while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
            return count == 0 ? nil : (value, count)
        }

        mutating func number(minDigits: Int, maxDigits: Int) -> Int? {
            let start = index
            var value = 0
            while index < bytes.count, index - start < maxDigits, (48...57).contains(bytes[index]) {
                value = value * 10 + Int(bytes[index] - 48)
                index += 1
            }
            return index - start >= minDigits ? value : nil
        }

        mutating func number(exactly count: Int) -> Int? {
            number(minDigits: count, maxDigits: count)
        }
    }
}
