import AgentCore
import Foundation
import Testing

@Suite("Money as text: always two decimals, rounded half up to cents")
struct MoneyTextTests {
    @Test(arguments: [
        ("1234.5", "1234.50"), ("3", "3.00"), ("0.07", "0.07"), ("0.005", "0.01"), ("2.994", "2.99"), ("-12.3", "-12.30"),
        ("0", "0.00"), ("123456789012.345", "123456789012.35"), ("0.0001", "0.00"),
    ])
    func formats(input: String, expected: String) {
        #expect(Decimal(string: input, locale: Locale(identifier: "en_US_POSIX"))!.moneyText == expected)
    }
}
