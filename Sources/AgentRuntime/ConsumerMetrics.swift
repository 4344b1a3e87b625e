import Synchronization

/// A monotonically increasing count, safe to bump from any thread.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    public func add(_ amount: Int) { value.add(amount, ordering: .relaxed) }
    public var current: Int { value.load(ordering: .relaxed) }
}

/// Total time and count of timed operations (for mean latency until histograms land).
public final class DurationTotal: Sendable {
    private let nanoseconds = Atomic<Int>(0)
    private let operations = Atomic<Int>(0)
    public init() {}

    public func record(_ duration: Duration, count: Int = 1) {
        let (seconds, attoseconds) = duration.components
        nanoseconds.add(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000), ordering: .relaxed)
        operations.add(count, ordering: .relaxed)
    }

    public var count: Int { operations.load(ordering: .relaxed) }
    public var totalSeconds: Double { Double(nanoseconds.load(ordering: .relaxed)) / 1e9 }
}

/// What a consumer did, shared by every consumer thread of a process.
public final class ConsumerMetrics: Sendable {
    public let consumed = Counter()
    public let acked = Counter()
    public let nacked = Counter()
    public let deadLettered = Counter()
    public let duplicates = Counter()
    public let reconnects = Counter()
    public let handlerSeconds = DurationTotal()
    public let published = Counter()

    public init() {}
}
