import Foundation
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

/// A value sampled now and then (queue depth, outbox backlog); -1 until first sampled.
public final class Gauge: Sendable {
    private let value = Atomic<Int>(-1)
    public init() {}
    public func set(_ newValue: Int) { value.store(newValue, ordering: .relaxed) }
    public var current: Int { value.load(ordering: .relaxed) }
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
    /// Per message: the time of the transaction that applied it.
    public let handlerLatency = Histogram()
    /// Messages ready in the input queue, as last sampled.
    public let queueDepth = Gauge()
    /// Outbox rows waiting for a relay, as last sampled.
    public let outboxBacklog = Gauge()
    /// Messages applied (not duplicates), for decisions per second.
    public let applied = Counter()
    /// More metrics a worker adds (Prometheus text, one call per scrape), e.g. the scheduler's rounds.
    private let extraExpositions = Mutex<[@Sendable () -> String]>([])

    public func addExposition(_ provider: @escaping @Sendable () -> String) {
        extraExpositions.withLock { $0.append(provider) }
    }

    var extraText: String { extraExpositions.withLock { $0 }.map { $0() }.joined() }

    /// Per input queue, seconds since 1970 of its consumers' last loop turn (connected and
    /// polling); 0 until the first.
    private let alive = Mutex<[String: Int]>([:])

    /// Counts `queue` in `isAlive` from now on, before its consumer first connects.
    func expect(queue: String) { alive.withLock { $0[queue] = $0[queue] ?? 0 } }

    func markAlive(queue: String) {
        let now = Int(Date().timeIntervalSince1970)
        alive.withLock { $0[queue] = now }
    }

    /// Every input queue's consumer turned its loop within `seconds` (connected, not stuck in a
    /// retry): a worker with two queues is not healthy while one of them cannot be consumed.
    public func isAlive(within seconds: Int = 30) -> Bool {
        let now = Int(Date().timeIntervalSince1970)
        return alive.withLock { turns in !turns.isEmpty && turns.values.allSatisfy { now - $0 <= seconds } }
    }

    public init() {}
}
