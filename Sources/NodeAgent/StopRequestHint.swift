import Synchronization

/// Tells the supervisor that the placement consumer (same process) recorded stop requests: it
/// then looks them up in the database for a while, instead of querying every second forever.
/// The requests themselves live in `runs` (committed with the inbox); this is only a hint of when
/// to look, so a lost hint costs nothing but latency for gangs (always checked) and rollbacks.
public final class StopRequestHint: Sendable {
    private let pokedAt = Atomic<Int64>(Int64.min)

    public init() {}

    func poke(now: ContinuousClock.Instant = .now) { pokedAt.store(Self.nanoseconds(now), ordering: .releasing) }

    /// Whether a poke came within `window` of `now`.
    func isRecent(now: ContinuousClock.Instant, window: Duration = .seconds(10)) -> Bool {
        let poked = pokedAt.load(ordering: .acquiring)
        return poked != Int64.min && Self.nanoseconds(now) - poked <= Self.nanoseconds(window)
    }

    private static let origin = ContinuousClock.now

    private static func nanoseconds(_ instant: ContinuousClock.Instant) -> Int64 { nanoseconds(instant - origin) }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
