/// Latency by the second in which jobs were submitted: where in a run the slow jobs were. A run's
/// p99 can come from a stall of a few seconds (a burst of other work on busy cores) or from
/// everything being a little slow; the timeline tells which.
struct LatencyTimeline {
    struct Second {
        var offset: Int
        var jobs: Int
        var p50: Double
        var p99: Double
        var max: Double
    }

    let seconds: [Second]

    /// `jobs`: (submit time in Unix seconds, latency in ms) per job.
    init(_ jobs: [(submit: Double, latency: Double)]) {
        guard let first = jobs.map(\.submit).min() else {
            seconds = []
            return
        }
        var buckets: [Int: [Double]] = [:]
        for job in jobs { buckets[Int(job.submit - first), default: []].append(job.latency) }
        seconds = buckets.keys.sorted().map { offset in
            let values = buckets[offset]!.sorted()
            return Second(
                offset: offset, jobs: values.count, p50: E2EBench.percentile(values, 0.5)!, p99: E2EBench.percentile(values, 0.99)!,
                max: values.last!)
        }
    }

    /// The second whose p99 is highest.
    var worst: Second? { seconds.max { $0.p99 < $1.p99 } }

    /// Seconds whose p99 exceeds `limit` ms.
    func seconds(over limit: Double) -> Int { seconds.filter { $0.p99 > limit }.count }

    /// One line per second, for the progress output: `  t+3s  1000 jobs  p50 41 ms  p99 88 ms  max 97 ms`.
    var lines: [String] {
        seconds.map { "  t+\($0.offset)s  \($0.jobs) jobs  p50 \(Int($0.p50)) ms  p99 \(Int($0.p99)) ms  max \(Int($0.max)) ms" }
    }

    var json: [[String: Any]] {
        seconds.map { ["offset_s": $0.offset, "jobs": $0.jobs, "p50_ms": E2EBench.round($0.p50), "p99_ms": E2EBench.round($0.p99), "max_ms": E2EBench.round($0.max)] }
    }
}
