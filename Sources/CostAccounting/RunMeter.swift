import Foundation

/// What the accountant knows of one run: when it started, the newest time a heartbeat saw it
/// running, and when it ended. Events may arrive in any order and more than once. Every merge is
/// commutative (earliest start, newest heartbeat, earliest end), so the metered interval depends
/// only on which reports arrived, not on their order or number.
public struct RunMeter: Sendable, Hashable {
    public var startedAt: Date?
    public var seenUntil: Date?
    public var endedAt: Date?
    /// Reported `lost` (its node agent restarted, maybe long after the node went silent).
    public var lost: Bool

    public init(startedAt: Date? = nil, seenUntil: Date? = nil, endedAt: Date? = nil, lost: Bool = false) {
        self.startedAt = startedAt
        self.seenUntil = seenUntil
        self.endedAt = endedAt
        self.lost = lost
    }

    /// The run's start (job.started, or a heartbeat's copy of it): the earliest reported.
    public mutating func started(at date: Date) {
        startedAt = min(startedAt ?? date, date)
    }

    /// A heartbeat saw it running at `date`.
    public mutating func seen(at date: Date) {
        seenUntil = max(seenUntil ?? date, date)
    }

    /// Its end (a run's end may be reported twice: rank 0 of a curriculum's last stage sends
    /// job.stage_finished and job.finished): the earliest reported.
    public mutating func ended(at date: Date) {
        endedAt = min(endedAt ?? date, date)
    }

    /// Metered up to its end once it ended, else up to the newest heartbeat. A lost run: up to the
    /// last report that saw it running (a heartbeat, or its start), never to when the loss was
    /// reported. Worked out here, not when reports arrive, so their order does not matter.
    public var meteredUntil: Date? {
        guard lost, let endedAt else { return endedAt ?? seenUntil }
        return min(endedAt, seenUntil ?? startedAt ?? endedAt)
    }

    public func charges(ratePerHour: Decimal) -> [DayCharge] {
        guard let startedAt, let until = meteredUntil else { return [] }
        return Metering.charges(from: startedAt, to: until, ratePerHour: ratePerHour)
    }
}
