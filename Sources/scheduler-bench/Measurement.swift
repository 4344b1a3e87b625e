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
    /// one, so it includes the jobs skipped (quota, capacity) on the way.
    var perPlacementMedianMicros: Double
    var perPlacementP99Micros: Double
    var roundMillis: Double
    var setupMillis: Double
    var decideMillis: Double
    var explainMillis: Double
    /// Resident bytes per pending job: the pending set plus the round's own structures (after setup).
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

    /// Resident set size, from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    /// Memory per pending job, measured in a fresh process (this executable with `--memory`), so
    /// memory freed by earlier measurements cannot hide growth: RSS after building the cluster and
    /// running set, after building the pending set and the round's state, and after the result.
    static func memoryPerJob(nodes: Int, pending: Int, machines: String) -> (inputAndState: Double, withResult: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["--memory", "\(nodes)", "\(pending)", machines]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return (.nan, .nan) }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let numbers = output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        guard numbers.count == 3 else { return (.nan, .nan) }
        return ((numbers[1] - numbers[0]) / Double(pending), (numbers[2] - numbers[0]) / Double(pending))
    }

    /// The child side of `memoryPerJob`: prints the three RSS figures.
    static func printMemory(nodes: Int, pending pendingCount: Int, inventory: Inventory) {
        let (cluster, running) = Workload.running(on: inventory.cluster(nodes: nodes))
        let policy = Workload.policy(cluster: cluster)
        let before = residentBytes()
        let pending = Workload.pending(count: pendingCount, cluster: cluster)
        var round = SchedulingRound(cluster: cluster, running: running, pending: pending, policy: policy)
        let afterSetup = residentBytes()
        let result = round.finish()
        let afterResult = residentBytes()
        print(before, afterSetup, afterResult)
        withExtendedLifetime((pending, round, result)) {}
    }

    static func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    static func measure(
        nodes nodeCount: Int, pending pendingCount: Int, cluster: [SchedulingNode], running: [RunningJob], policy: SchedulingPolicy, rounds: Int,
        machines: String
    ) -> Measurement {
        let memory = memoryPerJob(nodes: nodeCount, pending: pendingCount, machines: machines)
        let jobs = Workload.pending(count: pendingCount, cluster: cluster)
        var first = SchedulingRound(cluster: cluster, running: running, pending: jobs, policy: policy)
        let placements = first.finish().placements.count

        var steps: [Double] = []
        steps.reserveCapacity(placements * rounds)
        var totals: [Double] = []
        var setups: [Double] = []
        var decides: [Double] = []
        var explains: [Double] = []
        for _ in 0..<rounds {
            let start = nanoseconds()
            var round = SchedulingRound(cluster: cluster, running: running, pending: jobs, policy: policy)
            let setupDone = nanoseconds()
            var last = setupDone
            var count = 0
            while round.nextPlacement() != nil {
                let now = nanoseconds()
                steps.append(Double(now - last) / 1_000)
                last = now
                count += 1
            }
            let decided = nanoseconds()
            let result = round.finish()
            let end = nanoseconds()
            precondition(count == placements && result.placements.count == placements, "rounds on the same inputs differ")
            precondition(result.placements.count + result.pending.count == jobs.count)
            totals.append(Double(end - start) / 1e6)
            setups.append(Double(setupDone - start) / 1e6)
            decides.append(Double(decided - setupDone) / 1e6)
            explains.append(Double(end - decided) / 1e6)
        }
        return Measurement(
            nodes: nodeCount, pending: pendingCount, rounds: rounds, placementsPerRound: placements,
            perPlacementMedianMicros: median(steps), perPlacementP99Micros: percentile(steps, 0.99), roundMillis: median(totals),
            setupMillis: median(setups), decideMillis: median(decides), explainMillis: median(explains),
            bytesPerJobInputAndState: memory.inputAndState, bytesPerJobWithResult: memory.withResult)
    }
}
