import Foundation

extension Decimal {
    /// Rounded to cents, as the database stores money.
    public var cents: Decimal {
        var value = self
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .plain)
        return rounded
    }

    /// `1234.5` → `"1234.50"`.
    public var moneyText: String {
        let formatter = NumberFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.minimumFractionDigits = 2
        formatter.maximumFractionDigits = 2
        formatter.minimumIntegerDigits = 1
        return formatter.string(from: cents as NSDecimalNumber) ?? "\(cents)"
    }
}
