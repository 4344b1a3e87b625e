import Foundation
import Scheduling

/// The real machine inventory (Alibaba PAI 2020 trace, shared/data/pai-2020-machines.csv), replicated
/// into clusters of any size.
struct Inventory {
    struct Machine {
        var flavor: String
        var gpus: Int
        var cpu: Int
        var memoryGiB: Int
    }

    static let flavorOfType = [
        "P100": "gpu-p100", "T4": "gpu-t4", "V100": "gpu-v100", "V100M32": "gpu-v100m32", "MISC": "gpu-misc", "CPU": "cpu",
    ]

    let path: String
    let machines: [Machine]

    /// `explicitPath`, or `../shared/data/pai-2020-machines.csv` from the working directory (the repo
    /// root under `swift run`), or the same relative to the repo the executable was built in.
    init(explicitPath: String?) throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let candidates =
            explicitPath.map { [$0] } ?? [
                "../shared/data/pai-2020-machines.csv",
                executable.deletingLastPathComponent().appendingPathComponent("../../../../shared/data/pai-2020-machines.csv").path,
            ]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw BenchError("machine inventory not found (tried \(candidates.joined(separator: ", "))); pass its path as an argument")
        }
        self.path = path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var machines: [Machine] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 5, let flavor = Self.flavorOfType[fields[1]], let cpu = Int(fields[2]), let memory = Int(fields[3]),
                let gpus = Int(fields[4])
            else { throw BenchError("\(path): unexpected line \(line)") }
            machines.append(Machine(flavor: flavor, gpus: gpus, cpu: cpu, memoryGiB: memory))
        }
        guard !machines.isEmpty else { throw BenchError("\(path): no machines") }
        self.machines = machines
    }

    /// `count` nodes: the inventory in a fixed shuffled order, repeated as often as needed. Zones
    /// (4) and racks (20 nodes each) are synthetic; about 1.5% of nodes are cordoned, draining or lost.
    func cluster(nodes count: Int) -> [SchedulingNode] {
        var generator = SplitMix(seed: 2020)
        let order = machines.indices.shuffled(using: &generator)
        return (0..<count).map { i in
            let machine = machines[order[i % order.count]]
            let rack = i / 20
            let roll = Int.random(in: 0..<200, using: &generator)
            let state: NodeState = roll == 0 ? .lost : roll == 1 ? .cordoned : roll == 2 ? .draining : .ready
            return SchedulingNode(
                id: String(format: "node-%05d", i), pool: "\(machine.flavor)-pool", flavor: machine.flavor, zone: "zone-\(rack % 4)",
                rack: "rack-\(rack)", state: state,
                capacity: ResourceVector(gpus: machine.gpus, cpu: machine.cpu, memoryGiB: machine.memoryGiB))
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Deterministic pseudo-random numbers (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
