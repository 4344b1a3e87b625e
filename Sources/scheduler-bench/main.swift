import Foundation
import Scheduling

// Benchmark of the scheduling decision (release mode only: `swift run -c release scheduler-bench`).
//
//   scheduler-bench [--rounds N] [--nodes 100,1000,10000] [--pending 1000,10000,100000] [MACHINES.csv]
//
// Clusters replicate the PAI 2020 machine inventory; see Inventory.swift and Workload.swift.
// Prints a Markdown table on stdout, progress on stderr.

func standardError(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

var rounds = 5
var nodeCounts = [100, 1_000, 10_000]
var pendingCounts = [1_000, 10_000, 100_000]
var machinesPath: String?
var memoryOnly: (nodes: Int, pending: Int)?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--memory": memoryOnly = (Int(arguments.popFirst() ?? "") ?? 0, Int(arguments.popFirst() ?? "") ?? 0)
    case "--rounds": rounds = Int(arguments.popFirst() ?? "") ?? rounds
    case "--nodes": nodeCounts = (arguments.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--pending": pendingCounts = (arguments.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
    default: machinesPath = argument
    }
}

#if DEBUG
standardError("warning: a debug build; measure with -c release")
#endif

let inventory: Inventory
do {
    inventory = try Inventory(explicitPath: machinesPath)
} catch {
    standardError("scheduler-bench: \(error)")
    exit(1)
}
if let memoryOnly {
    Bench.printMemory(nodes: memoryOnly.nodes, pending: memoryOnly.pending, inventory: inventory)
    exit(0)
}
let cpuModel =
    (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
    ?? "unknown"
standardError("inventory: \(inventory.machines.count) machines from \(inventory.path); \(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpuModel)")

var results: [Measurement] = []
var fixedState: [Int: Double] = [:]
var clusterLines: [String] = []
for nodeCount in nodeCounts {
    let (cluster, running) = Workload.running(on: inventory.cluster(nodes: nodeCount))
    let policy = Workload.policy(cluster: cluster)
    let gpus = cluster.reduce(0) { $0 + $1.capacity.gpus }
    let used = cluster.reduce(0) { $0 + $1.allocated.gpus }
    let ready = cluster.filter { $0.state == .ready }.count
    let line = "\(nodeCount) nodes (\(ready) ready): \(gpus) GPUs, \(used) in use by \(running.count) running jobs"
    clusterLines.append(line)
    standardError("cluster: " + line)
    fixedState[nodeCount] = Bench.memoryPerJob(nodes: nodeCount, pending: 1, machines: inventory.path).withResult
    let measured = Bench.measure(
        nodes: nodeCount, pendingCounts: pendingCounts, cluster: cluster, running: running, policy: policy, rounds: rounds,
        machines: inventory.path, progress: standardError)
    for m in measured {
        standardError(
            "  \(m.pending) pending: \(m.placementsPerRound) placements/round, median \(format(m.perPlacementMedianMicros)) µs/placement, round \(format(m.roundMillis)) ms"
        )
    }
    results += measured
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

print(
    "Machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(cpuModel). \(rounds) rounds per row, interleaved across pending sizes; times are medians over rounds (µs/placement: of each round's median) unless marked p99."
)
print("")
print(
    "| nodes | pending | placements/round | µs/placement median | µs/placement p99 | round ms | setup ms | decide ms | explain ms | round µs/placement | heap B/job (input+state) | heap B/job (+result) |"
)
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in results {
    print(
        "| \(m.nodes) | \(m.pending) | \(m.placementsPerRound) | \(format(m.perPlacementMedianMicros, 2)) | \(format(m.perPlacementP99Micros)) | \(format(m.roundMillis)) | \(format(m.setupMillis)) | \(format(m.decideMillis)) | \(format(m.explainMillis)) | \(format(m.amortizedMicrosPerPlacement)) | \(format(m.bytesPerJobInputAndState, 0)) | \(format(m.bytesPerJobWithResult, 0)) |"
    )
}
print("")
for line in clusterLines { print("- cluster: \(line)") }
for nodeCount in nodeCounts {
    print("- \(nodeCount) nodes: the round's fixed state (one pending job) is \(format((fixedState[nodeCount] ?? .nan) / 1024)) KiB of heap")
}
for nodeCount in nodeCounts {
    let row = results.filter { $0.nodes == nodeCount }
    guard let small = row.first(where: { $0.pending == pendingCounts.min() }), let large = row.first(where: { $0.pending == pendingCounts.max() }),
        small.pending != large.pending
    else { continue }
    print(
        "- \(nodeCount) nodes: median µs/placement grows \(format(large.perPlacementMedianMicros / small.perPlacementMedianMicros, 2))× from \(small.pending) to \(large.pending) pending (round µs/placement: \(format(large.amortizedMicrosPerPlacement / small.amortizedMicrosPerPlacement, 2))×)"
    )
}
if let target = results.first(where: { $0.nodes == 10_000 && $0.pending == 100_000 }) {
    print(
        "- target (100k pending × 10k nodes): median \(format(target.perPlacementMedianMicros, 2)) µs/placement (≤ 50: \(target.perPlacementMedianMicros <= 50 ? "met" : "NOT met")); \(format(target.bytesPerJobWithResult, 0)) bytes/job with result (≤ 1024: \(target.bytesPerJobWithResult <= 1024 ? "met" : "NOT met"))"
    )
}
