#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Scheduling

/// One (nodes, pending) combination, measured over several rounds on the same inputs (every round
/// starts from the same cluster, running set and pending set: the decision never mutates its inputs).
struct Measurement {
    var nodes: Int
    var pending: Int
    var rounds: Int
    var placementsPerRound: Int
    /// Each placement's own time: from the end of the previous decision that placed something to this
    /// one, so it includes the jobs skipped (quota, capacity) on the way. The median is the median over
    /// rounds of each round's median (one round disturbed by another process cannot move it); p99 is
    /// over the placements of all rounds.
    var perPlacementMedianMicros: Double
    var perPlacementP99Micros: Double
    var roundMillis: Double
    var setupMillis: Double
    var decideMillis: Double
    var explainMillis: Double
    /// Heap bytes per pending job: the pending set plus the round's own structures (after setup).
    var bytesPerJobInputAndState: Double
    /// The same, plus the result (placements and every explanation).
    var bytesPerJobWithResult: Double

    var amortizedMicrosPerPlacement: Double { roundMillis * 1000 / Double(max(1, placementsPerRound)) }
}

enum Bench {
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    /// Bytes malloc has handed out and not taken back, from glibc's `malloc_stats()` ("Total (incl.
    /// mmap): in use bytes"), which writes to stderr. It is looked up at run time (the Glibc module
    /// does not export malloc.h); it takes and returns nothing, so the call is ABI-safe.
    static func printMallocStats() {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "malloc_stats") else { return }
        unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)()
    }

    /// Heap bytes per pending job, measured in a fresh process (this executable with `--memory`):
    /// in use after building the cluster and running set, after building the pending set and the
    /// round's state, and after the result.
    static func memoryPerJob(nodes: Int, pending: Int, machines: String) -> (inputAndState: Double, withResult: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["--memory", "\(nodes)", "\(pending)", machines]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return (.nan, .nan) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // Each report ends with a "Total (incl. mmap):" section whose "in use bytes" line is the figure.
        var inUse: [Double] = []
        var inTotal = false
        for line in output.split(separator: "\n") {
            if line.hasPrefix("Total") { inTotal = true }
            if inTotal, line.contains("in use bytes"), let value = line.split(separator: "=").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
                inUse.append(value)
                inTotal = false
            }
        }
        guard inUse.count == 3 else { return (.nan, .nan) }
        return ((inUse[1] - inUse[0]) / Double(pending), (inUse[2] - inUse[0]) / Double(pending))
    }

    /// Cluster, running set and policy, built in a function of their own so that every temporary is
    /// released when it returns (the optimizer may otherwise release one after the first probe).
    @inline(never)
    static func world(nodes: Int, inventory: Inventory) -> ([SchedulingNode], [RunningJob], SchedulingPolicy) {
        let (cluster, running) = Workload.running(on: inventory.cluster(nodes: nodes))
        return (cluster, running, Workload.policy(cluster: cluster))
    }

    /// The child side of `memoryPerJob`.
    static func printMemory(nodes: Int, pending pendingCount: Int, inventory: Inventory) {
        let (cluster, running, policy) = world(nodes: nodes, inventory: inventory)
        printMallocStats()
        let pending = Workload.pending(count: pendingCount, cluster: cluster)
        var round = SchedulingRound(cluster: cluster, running: running, pending: pending, policy: policy)
        printMallocStats()
        let result = round.finish()
        printMallocStats()
        withExtendedLifetime((cluster, running, policy, pending, round, result)) {}
    }

    /// The timings of one round on one pending set.
    struct RoundTiming {
        var placements: Int
        var steps: [Double]
        var total: Double
        var setup: Double
        var decide: Double
        var explain: Double
    }

    static func timeRound(cluster: [SchedulingNode], running: [RunningJob], pending: [PendingJob], policy: SchedulingPolicy) -> RoundTiming {
        var steps: [Double] = []
        let start = nanoseconds()
        var round = SchedulingRound(cluster: cluster, running: running, pending: pending, policy: policy)
        let setupDone = nanoseconds()
        var last = setupDone
        while round.nextPlacement() != nil {
            let now = nanoseconds()
            steps.append(Double(now - last) / 1_000)
            last = now
        }
        let decided = nanoseconds()
        let result = round.finish()
        let end = nanoseconds()
        precondition(result.placements.count == steps.count && result.placements.count + result.pending.count == pending.count)
        return RoundTiming(
            placements: steps.count, steps: steps, total: Double(end - start) / 1e6, setup: Double(setupDone - start) / 1e6,
            decide: Double(decided - setupDone) / 1e6, explain: Double(end - decided) / 1e6)
    }

    /// Every pending size on one cluster. Rounds are interleaved across the sizes (one unrecorded
    /// warm-up round each, then size after size, `rounds` times), so a burst of load from other
    /// processes falls on all sizes alike and the growth ratios stay comparable.
    static func measure(
        nodes nodeCount: Int, pendingCounts: [Int], cluster: [SchedulingNode], running: [RunningJob], policy: SchedulingPolicy, rounds: Int,
        machines: String, progress: (String) -> Void
    ) -> [Measurement] {
        let pendingSets = pendingCounts.map { Workload.pending(count: $0, cluster: cluster) }
        var timings = Array(repeating: [RoundTiming](), count: pendingCounts.count)
        for r in 0...rounds {
            for (i, jobs) in pendingSets.enumerated() {
                let timing = timeRound(cluster: cluster, running: running, pending: jobs, policy: policy)
                if r > 0 {
                    precondition(timing.placements == timings[i].first?.placements ?? timing.placements, "rounds on the same inputs differ")
                    timings[i].append(timing)
                }
            }
            progress("    round \(r == 0 ? "warm-up" : String(r)) done")
        }
        return pendingCounts.indices.map { i in
            let runs = timings[i]
            let memory = memoryPerJob(nodes: nodeCount, pending: pendingCounts[i], machines: machines)
            return Measurement(
                nodes: nodeCount, pending: pendingCounts[i], rounds: rounds, placementsPerRound: runs[0].placements,
                perPlacementMedianMicros: median(runs.map { median($0.steps) }), perPlacementP99Micros: percentile(runs.flatMap(\.steps), 0.99),
                roundMillis: median(runs.map(\.total)), setupMillis: median(runs.map(\.setup)), decideMillis: median(runs.map(\.decide)),
                explainMillis: median(runs.map(\.explain)), bytesPerJobInputAndState: memory.inputAndState, bytesPerJobWithResult: memory.withResult)
        }
    }
}
