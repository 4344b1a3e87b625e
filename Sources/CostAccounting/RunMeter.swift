import Foundation

/// What the accountant knows of one run: when it started, the newest time a heartbeat saw it
/// running, and when it ended. Events may arrive in any order and more than once; the metered
/// interval only depends on the values, so applying the same report again changes nothing.
public struct RunMeter: Sendable, Hashable {
    public var startedAt: Date?
    public var seenUntil: Date?
    public var endedAt: Date?

    public init(startedAt: Date? = nil, seenUntil: Date? = nil, endedAt: Date? = nil) {
        self.startedAt = startedAt
        self.seenUntil = seenUntil
        self.endedAt = endedAt
    }

    /// The run's start (job.started, or a heartbeat's copy of it): the first one reported stands.
    public mutating func started(at date: Date) {
        if startedAt == nil { startedAt = date }
    }

    /// A heartbeat saw it running at `date`.
    public mutating func seen(at date: Date) {
        seenUntil = max(seenUntil ?? date, date)
    }

    /// Its end: the first one reported stands (a late copy of another report cannot move it).
    public mutating func ended(at date: Date) {
        if endedAt == nil { endedAt = date }
    }

    /// Metered up to its end once it ended, else up to the newest heartbeat.
    public var meteredUntil: Date? { endedAt ?? seenUntil }

    public func charges(ratePerHour: Decimal) -> [DayCharge] {
        guard let startedAt, let until = meteredUntil else { return [] }
        return Metering.charges(from: startedAt, to: until, ratePerHour: ratePerHour)
    }
}
