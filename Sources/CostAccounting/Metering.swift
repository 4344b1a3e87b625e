import Foundation

/// What one replica costs per hour: its units (GPUs, or cores for CPU flavors) × the flavor's
/// price per unit-hour, less the flavor's discount for the `batch` class.
public struct RunRate: Sendable, Hashable {
    public var units: Int
    public var pricePerUnitHour: Decimal
    public var batchDiscount: Decimal
    public var isBatch: Bool

    public init(units: Int, pricePerUnitHour: Decimal, batchDiscount: Decimal, isBatch: Bool) {
        self.units = units
        self.pricePerUnitHour = pricePerUnitHour
        self.batchDiscount = batchDiscount
        self.isBatch = isBatch
    }

    public var perHour: Decimal {
        Metering.rounded(Decimal(units) * pricePerUnitHour * (isBatch ? 1 - batchDiscount : 1), places: 6)
    }
}

/// A run's metered time and cost within one UTC day.
public struct DayCharge: Sendable, Hashable {
    /// `2026-11-25`.
    public var day: String
    /// To the millisecond.
    public var seconds: Decimal
    /// To 10⁻⁸ of the currency: seconds × rate per hour / 3600.
    public var cost: Decimal

    public init(day: String, seconds: Decimal, cost: Decimal) {
        self.day = day
        self.seconds = seconds
        self.cost = cost
    }

    /// `2026-11`: the budget month the charge counts against.
    public var month: String { String(day.prefix(7)) }
}

/// Metering is a pure function of a run's interval and rate: the same interval always gives the
/// same charges, so recomputing them after a redelivery or a restart changes nothing.
public enum Metering {
    /// The interval [start, end) split by UTC day, each part priced at `ratePerHour`. Empty when
    /// `end` is not after `start`.
    public static func charges(from start: Date, to end: Date, ratePerHour: Decimal) -> [DayCharge] {
        guard end > start else { return [] }
        var charges: [DayCharge] = []
        var cursor = start
        while cursor < end {
            let dayStart = floor(cursor.timeIntervalSince1970 / 86_400) * 86_400
            let next = min(end, Date(timeIntervalSince1970: dayStart + 86_400))
            let seconds = rounded(Decimal(next.timeIntervalSince(cursor)), places: 3)
            charges.append(DayCharge(day: dayText(cursor), seconds: seconds, cost: cost(seconds: seconds, ratePerHour: ratePerHour)))
            cursor = next
        }
        return charges
    }

    public static func cost(seconds: Decimal, ratePerHour: Decimal) -> Decimal {
        rounded(seconds * ratePerHour / 3_600, places: 8)
    }

    /// UTC days and months: budgets and the ledger know no time zones.
    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// `2026-11-25` (UTC).
    public static func dayText(_ date: Date) -> String {
        let parts = utc.dateComponents([.year, .month, .day], from: date)
        // Not String(format:): that goes through CoreFoundation's printf, and the cost accountant
        // writes a day for every job it meters (6% of its CPU under make bench).
        func digits(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        return "\(digits(parts.year!, 4))-\(digits(parts.month!, 2))-\(digits(parts.day!, 2))"
    }

    /// `2026-11` (UTC): budgets reset each calendar month.
    public static func monthText(_ date: Date) -> String { String(dayText(date).prefix(7)) }

    /// Seconds left in `date`'s UTC month.
    public static func secondsToMonthEnd(_ date: Date) -> Double {
        let month = utc.dateInterval(of: .month, for: date)!
        return month.end.timeIntervalSince(date)
    }

    static func rounded(_ value: Decimal, places: Int) -> Decimal {
        var input = value
        var output = Decimal()
        NSDecimalRound(&output, &input, places, .plain)
        return output
    }
}
