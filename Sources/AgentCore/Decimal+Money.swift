import Foundation

extension Decimal {
    /// Rounded to cents, as the database stores money.
    public var cents: Decimal {
        var value = self
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 2, .plain)
        return rounded
    }

    /// `1234.5` → `"1234.50"`. Written by hand: a NumberFormatter per call cost admission over a
    /// third of its CPU (issue 5's profile), and one shared formatter is not thread-safe.
    public var moneyText: String {
        let text = cents.description  // plain digits, e.g. "1234.5", "-3", "0.07"
        guard let dot = text.firstIndex(of: ".") else { return text + ".00" }
        let fraction = text[text.index(after: dot)...]
        return String(text[..<dot]) + "." + fraction.prefix(2) + String(repeating: "0", count: max(0, 2 - fraction.count))
    }
}
