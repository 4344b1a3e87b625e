import Admission
import Foundation

/// Deterministic generator (SplitMix64) so every run offers the same mix.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

/// The mixed workload: several tenants, every priority class, mostly small GPU jobs of 1 h, some
/// gangs (half of them same-zone) and a few CPU jobs. Each job is sized to fit one node of its flavor.
struct Workload {
    let tenants: [String]
    let agent: String
    let keyPrefix: String
    var random: SplitMix64

    init(tenants: [String], agent: String, keyPrefix: String, seed: UInt64) {
        self.tenants = tenants
        self.agent = agent
        self.keyPrefix = keyPrefix
        random = SplitMix64(state: seed)
    }

    /// Classes: 3% critical, 12% high, 45% normal, 20% low, 20% batch.
    private mutating func priorityClass() -> PriorityClass {
        let roll = random.below(100)
        switch roll {
        case ..<3: return .critical
        case ..<15: return .high
        case ..<60: return .normal
        case ..<80: return .low
        default: return .batch
        }
    }

    /// GPU flavors with their GPUs per node and their share (%) of the GPU jobs.
    private static let gpuFlavors: [(name: String, gpusPerNode: Int, weight: Int)] = [
        ("gpu-v100", 8, 25), ("gpu-v100m32", 8, 20), ("gpu-misc", 8, 25), ("gpu-p100", 2, 15), ("gpu-t4", 2, 15),
    ]

    mutating func request(index: Int) -> SubmissionClient.Request {
        // Tenants in proportion to their position (bench-a 1, bench-b 2, bench-c 3 shares of the load).
        let shares = tenants.indices.reduce(0) { $0 + $1 + 1 }
        var pick = random.below(shares)
        var tenant = tenants[0]
        for (position, name) in tenants.enumerated() {
            if pick < position + 1 { tenant = name; break }
            pick -= position + 1
        }
        let priority = priorityClass()
        var replicas = 1
        var sameZone = false
        var flavor: String
        var gpus: Int
        var cpu: Int
        var memory: Int
        let kind = random.below(100)
        if kind < 5 {  // CPU job
            flavor = "cpu"; gpus = 0; cpu = 4 * (1 + random.below(4)); memory = cpu * 4
        } else {
            var roll = random.below(100)
            var chosen = Self.gpuFlavors[0]
            for candidate in Self.gpuFlavors {
                if roll < candidate.weight { chosen = candidate; break }
                roll -= candidate.weight
            }
            flavor = chosen.name
            let sizeRoll = random.below(100)
            gpus = sizeRoll < 75 ? 1 : (sizeRoll < 93 ? 2 : (chosen.gpusPerNode >= 4 ? 4 : 2))
            gpus = min(gpus, chosen.gpusPerNode)
            cpu = 8 * gpus
            memory = 32 * gpus
            if kind < 12 {  // 7% gangs of 2-4 replicas, half of them in one zone
                replicas = 2 + random.below(3)
                gpus = 1
                cpu = 8
                memory = 32
                sameZone = random.below(2) == 0
            }
        }
        let key = "\(keyPrefix)\(index)"
        let body = """
            {"tenant":"\(tenant)","agent":"\(agent)","name":"bench-\(index)","priority_class":"\(priority.rawValue)",\
            "replicas":\(replicas),"same_zone":\(sameZone),"resources":{"flavor":"\(flavor)","gpus":\(gpus),"cpu":\(cpu),"memory_gib":\(memory)},\
            "max_runtime":"1h","labels":{"bench":"e2e"},"idempotency_key":"\(key)"}
            """
        return SubmissionClient.Request(body: Data(body.utf8), idempotencyKey: key, priority: priority, correlationID: key, isBatchable: true)
    }
}
