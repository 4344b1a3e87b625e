import Foundation

/// Where a tenant's spending stands against one budget (monthly or total).
public enum BudgetState: String, Sendable, Hashable, Comparable {
    case ok, warning, exceeded

    var rank: Int {
        switch self {
        case .ok: 0
        case .warning: 1
        case .exceeded: 2
        }
    }

    public static func < (a: BudgetState, b: BudgetState) -> Bool { a.rank < b.rank }
}

/// The thresholds: `warning` from `warningPercent` of the budget spent, `exceeded` once all of it
/// is (a budget of 0 is exceeded by any spending). No budget: always `ok`.
public enum BudgetRule {
    public static func state(spent: Decimal, budget: Decimal?, warningPercent: Decimal) -> BudgetState {
        guard let budget else { return .ok }
        if budget == 0 ? spent > 0 : spent >= budget { return .exceeded }
        if budget > 0, spent >= budget * warningPercent / 100 { return .warning }
        return .ok
    }

    /// The event a change of state calls for: `budget.warning` on reaching the warning threshold,
    /// `budget.exceeded` on reaching the limit, `budget.restored` on leaving `exceeded` (the
    /// budget was raised, or a new month began); nil for any other change.
    public static func event(from old: BudgetState, to new: BudgetState) -> String? {
        switch (old, new) {
        case (_, .exceeded) where old != .exceeded: "budget.exceeded"
        case (.ok, .warning): "budget.warning"
        case (.exceeded, _) where new != .exceeded: "budget.restored"
        default: nil
        }
    }

    /// Month-end forecast: what is spent, plus what the running jobs cost per hour until the month
    /// ends, but no more than admitted jobs still hold reserved (their max runtime bounds them).
    public static func monthEndForecast(spent: Decimal, burnPerHour: Decimal, secondsLeft: Double, reserved: Decimal) -> Decimal {
        let running = burnPerHour * Decimal(max(0, secondsLeft)) / 3_600
        return Metering.rounded(spent + max(0, min(running, reserved)), places: 2)
    }
}
