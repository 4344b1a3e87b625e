import CostAccounting
import Foundation
import Testing

@Suite("Metering: a run's interval, split by UTC day, priced to the second")
struct MeteringTests {
    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test("Rate per hour: units × price, batch discount for the batch class only")
    func rate() {
        let v100 = RunRate(units: 8, pricePerUnitHour: Decimal(string: "2.48")!, batchDiscount: Decimal(string: "0.3")!, isBatch: false)
        #expect(v100.perHour == Decimal(string: "19.84"))
        var batch = v100
        batch.isBatch = true
        #expect(batch.perHour == Decimal(string: "13.888"))
        let cores = RunRate(units: 2, pricePerUnitHour: Decimal(string: "0.04")!, batchDiscount: Decimal(string: "0.3")!, isBatch: false)
        #expect(cores.perHour == Decimal(string: "0.08"))
    }

    @Test("An hour at $19.84/h costs $19.84; 90.5 s costs 90.5 × 19.84 / 3600")
    func cost() {
        let start = Self.date("2026-11-25T10:00:00Z")
        let hour = Metering.charges(from: start, to: start.addingTimeInterval(3600), ratePerHour: Decimal(string: "19.84")!)
        #expect(hour == [DayCharge(day: "2026-11-25", seconds: 3600, cost: Decimal(string: "19.84")!)])
        let short = Metering.charges(from: start, to: start.addingTimeInterval(90.5), ratePerHour: Decimal(string: "19.84")!)
        #expect(short.count == 1)
        #expect(short[0].seconds == Decimal(string: "90.5"))
        #expect(short[0].cost == Decimal(string: "0.49875556"))  // 90.5 × 19.84 = 1795.52; / 3600 = 0.4987555…
    }

    @Test("A run over midnight and a month's end is charged to each day, and its months")
    func acrossDays() {
        let charges = Metering.charges(
            from: Self.date("2026-11-30T23:59:00Z"), to: Self.date("2026-12-01T00:01:30Z"), ratePerHour: 36)
        #expect(charges.map(\.day) == ["2026-11-30", "2026-12-01"])
        #expect(charges.map(\.month) == ["2026-11", "2026-12"])
        #expect(charges.map(\.seconds) == [60, 90])
        #expect(charges.map(\.cost) == [Decimal(string: "0.6")!, Decimal(string: "0.9")!])
        let long = Metering.charges(from: Self.date("2026-02-27T12:00:00Z"), to: Self.date("2026-03-02T00:00:00Z"), ratePerHour: 1)
        #expect(long.map(\.day) == ["2026-02-27", "2026-02-28", "2026-03-01"])
        #expect(long.map(\.seconds) == [43_200, 86_400, 86_400])
    }

    @Test("No time, no charge: an end before its start charges nothing")
    func empty() {
        let start = Self.date("2026-11-25T10:00:00Z")
        #expect(Metering.charges(from: start, to: start, ratePerHour: 10).isEmpty)
        #expect(Metering.charges(from: start, to: start.addingTimeInterval(-5), ratePerHour: 10).isEmpty)
    }

    @Test("UTC days and months, leap years and the month's remaining seconds")
    func calendar() {
        #expect(Metering.dayText(Self.date("2024-02-29T23:59:59Z")) == "2024-02-29")
        #expect(Metering.dayText(Self.date("1999-12-31T00:00:00Z")) == "1999-12-31")
        #expect(Metering.monthText(Self.date("2026-12-31T23:00:00Z")) == "2026-12")
        #expect(Metering.secondsToMonthEnd(Self.date("2026-12-31T23:00:00Z")) == 3600)
        #expect(Metering.secondsToMonthEnd(Self.date("2026-11-30T00:00:00Z")) == 86_400)
    }
}

@Suite("RunMeter: the same reports, in any order and any number of times, meter the same interval")
struct RunMeterTests {
    static let start = MeteringTests.date("2026-11-25T10:00:00Z")

    @Test("Metered to the newest heartbeat while running, to the end once it ended")
    func untilEnd() {
        var meter = RunMeter()
        meter.started(at: Self.start)
        meter.seen(at: Self.start.addingTimeInterval(30))
        meter.seen(at: Self.start.addingTimeInterval(10))  // an older heartbeat, late
        #expect(meter.meteredUntil == Self.start.addingTimeInterval(30))
        meter.ended(at: Self.start.addingTimeInterval(42))
        meter.seen(at: Self.start.addingTimeInterval(60))  // a heartbeat that raced the end
        #expect(meter.meteredUntil == Self.start.addingTimeInterval(42))
        meter.ended(at: Self.start.addingTimeInterval(42.001))  // the same end, reported twice
        meter.started(at: Self.start.addingTimeInterval(0.001))  // a heartbeat's copy of the start
        #expect(meter.charges(ratePerHour: 3600).map(\.cost) == [42])
    }

    @Test("Every order and duplication of start, heartbeats and end gives the same meter")
    func orderIndependent() {
        enum Report { case start(Double), seen(Double), end(Double) }
        // Two copies of the start a millisecond apart (job.started, a heartbeat's), two ends
        // (job.stage_finished and job.finished of a curriculum's last stage), heartbeats twice.
        let reports: [Report] = [.start(0), .seen(5), .seen(12), .end(20), .start(0.001), .seen(12), .end(20.0004)]
        func apply(_ order: [Report]) -> RunMeter {
            var meter = RunMeter()
            for report in order {
                switch report {
                case .start(let offset): meter.started(at: Self.start.addingTimeInterval(offset))
                case .seen(let offset): meter.seen(at: Self.start.addingTimeInterval(offset))
                case .end(let offset): meter.ended(at: Self.start.addingTimeInterval(offset))
                }
            }
            return meter
        }
        let expected = apply(reports)
        #expect(expected.charges(ratePerHour: 3600).map(\.seconds) == [20])
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            #expect(apply(reports.shuffled(using: &generator)) == expected)
        }
    }

    @Test("A lost run is metered to the last report that saw it running, in whatever order the reports came")
    func lost() {
        var heartbeatFirst = RunMeter()
        heartbeatFirst.started(at: Self.start)
        heartbeatFirst.seen(at: Self.start.addingTimeInterval(30))
        heartbeatFirst.lost = true
        heartbeatFirst.ended(at: Self.start.addingTimeInterval(3_600))  // the agent restarted an hour later
        #expect(heartbeatFirst.meteredUntil == Self.start.addingTimeInterval(30))
        var lossFirst = RunMeter()
        lossFirst.lost = true
        lossFirst.ended(at: Self.start.addingTimeInterval(3_600))
        lossFirst.started(at: Self.start)
        lossFirst.seen(at: Self.start.addingTimeInterval(30))
        #expect(lossFirst == heartbeatFirst)
        var unseen = RunMeter(startedAt: Self.start, endedAt: Self.start.addingTimeInterval(3_600), lost: true)
        #expect(unseen.charges(ratePerHour: 36).isEmpty)  // never seen running after its start
        unseen.lost = false
        #expect(unseen.charges(ratePerHour: 36).map(\.cost) == [36])
    }

    @Test("Nothing is charged before the start is known")
    func noStart() {
        var meter = RunMeter()
        meter.seen(at: Self.start)
        meter.ended(at: Self.start.addingTimeInterval(5))
        #expect(meter.charges(ratePerHour: 100).isEmpty)
    }
}

@Suite("Budget thresholds and the events their changes call for")
struct BudgetRuleTests {
    @Test("ok below the warning threshold, warning from it, exceeded at the budget")
    func states() {
        #expect(BudgetRule.state(spent: 79, budget: 100, warningPercent: 80) == .ok)
        #expect(BudgetRule.state(spent: 80, budget: 100, warningPercent: 80) == .warning)
        #expect(BudgetRule.state(spent: Decimal(string: "99.99")!, budget: 100, warningPercent: 80) == .warning)
        #expect(BudgetRule.state(spent: 100, budget: 100, warningPercent: 80) == .exceeded)
        #expect(BudgetRule.state(spent: 5, budget: 100, warningPercent: 5) == .warning)
        #expect(BudgetRule.state(spent: 1_000_000, budget: nil, warningPercent: 80) == .ok)
        #expect(BudgetRule.state(spent: 0, budget: 0, warningPercent: 80) == .ok)
        #expect(BudgetRule.state(spent: Decimal(string: "0.00000001")!, budget: 0, warningPercent: 80) == .exceeded)
    }

    @Test("Events on changes only: warning up, exceeded up, restored when leaving exceeded")
    func events() {
        #expect(BudgetRule.event(from: .ok, to: .warning) == "budget.warning")
        #expect(BudgetRule.event(from: .ok, to: .exceeded) == "budget.exceeded")
        #expect(BudgetRule.event(from: .warning, to: .exceeded) == "budget.exceeded")
        #expect(BudgetRule.event(from: .exceeded, to: .warning) == "budget.restored")
        #expect(BudgetRule.event(from: .exceeded, to: .ok) == "budget.restored")
        #expect(BudgetRule.event(from: .warning, to: .warning) == nil)
        #expect(BudgetRule.event(from: .exceeded, to: .exceeded) == nil)
        #expect(BudgetRule.event(from: .warning, to: .ok) == nil)
    }

    @Test("Month-end forecast: spent plus the running jobs' rate until the month ends, capped by what is still reserved")
    func forecast() {
        #expect(BudgetRule.monthEndForecast(spent: 100, burnPerHour: 10, secondsLeft: 7200, reserved: 1_000) == 120)
        #expect(BudgetRule.monthEndForecast(spent: 100, burnPerHour: 10, secondsLeft: 7200, reserved: 5) == 105)
        #expect(BudgetRule.monthEndForecast(spent: 100, burnPerHour: 10, secondsLeft: -5, reserved: 1_000) == 100)
    }
}
