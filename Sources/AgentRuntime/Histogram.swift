import Synchronization

/// A Prometheus-style histogram of durations in seconds (cumulative buckets, sum, count).
public final class Histogram: Sendable {
    public let bounds: [Double]
    private let state: Mutex<(buckets: [Int], sum: Double, count: Int)>

    public init(bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]) {
        self.bounds = bounds
        state = Mutex((Array(repeating: 0, count: bounds.count), 0, 0))
    }

    /// Records `count` observations of the same value (a batch: each message waited for all of it).
    public func observe(_ seconds: Double, count: Int = 1) {
        state.withLock { state in
            if let index = bounds.firstIndex(where: { seconds <= $0 }) { state.buckets[index] += count }
            state.sum += seconds * Double(count)
            state.count += count
        }
    }

    public func observe(_ duration: Duration, count: Int = 1) {
        let (seconds, attoseconds) = duration.components
        observe(Double(seconds) + Double(attoseconds) / 1e18, count: count)
    }

    /// Lines of the text exposition format for metric `name` with `labels` (`worker="x"`).
    public func exposition(name: String, labels: String) -> [String] {
        let snapshot = state.withLock { $0 }
        var lines: [String] = []
        var cumulative = 0
        for (bound, count) in zip(bounds, snapshot.buckets) {
            cumulative += count
            lines.append("\(name)_bucket{\(labels),le=\"\(bound)\"} \(cumulative)")
        }
        lines.append("\(name)_bucket{\(labels),le=\"+Inf\"} \(snapshot.count)")
        lines.append("\(name)_sum{\(labels)} \(snapshot.sum)")
        lines.append("\(name)_count{\(labels)} \(snapshot.count)")
        return lines
    }
}
