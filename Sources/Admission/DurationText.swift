/// Durations as people write them in job specs: `"90s"`, `"30m"`, `"6h"`, `"2d"`, `"1h30m"`
/// (units s, m, h, d, each at most once, largest first). See docs/job-spec.md.
public enum DurationText {
    private static let units: [(symbol: Character, seconds: Int)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]

    /// The number of seconds `text` stands for, or nil when it is not a duration. Values too large
    /// for an `Int` saturate at `Int.max` (so the caller reports them as out of bounds, not as typos).
    public static func seconds(from text: String) -> Int? {
        var total = 0
        var digits = ""
        var nextUnit = 0  // index into `units`: a unit must come after every unit already used
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            guard !digits.isEmpty,
                let index = units[nextUnit...].firstIndex(where: { $0.symbol == character })
            else { return nil }
            let amount = Int(digits) ?? Int.max
            let (product, productOverflow) = amount.multipliedReportingOverflow(by: units[index].seconds)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            total = productOverflow || sumOverflow ? Int.max : sum
            digits = ""
            nextUnit = index + 1
        }
        guard digits.isEmpty, nextUnit > 0 else { return nil }
        return total
    }

    /// The shortest text for `seconds` in the same notation: 5400 -> "1h30m", 0 -> "0s".
    public static func format(_ seconds: Int) -> String {
        guard seconds > 0 else { return "\(seconds)s" }
        var rest = seconds
        var text = ""
        for unit in units where rest >= unit.seconds {
            text += "\(rest / unit.seconds)\(unit.symbol)"
            rest %= unit.seconds
        }
        return text
    }
}
