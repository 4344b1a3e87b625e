import Foundation
import Scheduling

/// Deterministic workloads: tenants with weights and cohorts, a running set that fills part of the
/// cluster, and pending jobs of every class (mostly 1–8 GPU jobs, some gangs, some CPU jobs).
enum Workload {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let tenantCount = 12
    static let weights: [Double] = [1, 1, 2, 1, 3, 1, 1, 2, 1, 1, 4, 1]
    static let cohorts: [String?] = [
        "research", "research", "research", "research", "product", "product", "product", "product", "platform", "platform", nil, nil,
    ]
    static let quotaUnits: [String: QuotaUnit] = [
        "gpu-p100": .gpu, "gpu-t4": .gpu, "gpu-v100": .gpu, "gpu-v100m32": .gpu, "gpu-misc": .gpu, "cpu": .cpu,
    ]
    static func tenantName(_ t: Int) -> String { "tenant-\(t < 10 ? "0" : "")\(t)" }

    /// Each tenant's nominal quota is 1/10 of the flavor's units (so nominals add up to 120%), and it
    /// may borrow as much again.
    static func policy(cluster: [SchedulingNode], backfill: Bool = true) -> SchedulingPolicy {
        var units: [String: Int] = [:]
        for node in cluster where node.state != .lost {
            units[node.flavor, default: 0] += quotaUnits[node.flavor] == .cpu ? node.capacity.cpu : node.capacity.gpus
        }
        var tenants: [String: TenantPolicy] = [:]
        for t in 0..<tenantCount {
            let quotas = units.mapValues { total in TenantQuota(nominal: max(1, total / 10), borrowingLimit: max(1, total / 10)) }
            tenants[tenantName(t)] = TenantPolicy(name: tenantName(t), weight: weights[t], cohort: cohorts[t], quotas: quotas)
        }
        return SchedulingPolicy(tenants: tenants, quotaUnits: quotaUnits, agingInterval: 3_600, backfill: backfill, now: now)
    }

    /// Fills each non-lost node to a random level (half the GPUs on average) with single-replica jobs;
    /// returns the cluster with allocations and the running jobs.
    static func running(on cluster: [SchedulingNode], seed: UInt64 = 7) -> (cluster: [SchedulingNode], running: [RunningJob]) {
        var generator = SplitMix(seed: seed)
        var nodes = cluster
        var running: [RunningJob] = []
        for i in nodes.indices where nodes[i].state != .lost {
            let target = Double.random(in: 0...1, using: &generator)
            var node = nodes[i]
            while true {
                let each: ResourceVector
                if node.capacity.gpus > 0 {
                    let free = node.free.gpus
                    guard Double(node.allocated.gpus + 1) <= target * Double(node.capacity.gpus), free > 0 else { break }
                    let gpus = [1, 2, 4, 8].filter { $0 <= free }.randomElement(using: &generator)!
                    each = ResourceVector(gpus: gpus, cpu: gpus * 4, memoryGiB: gpus * 16)
                } else {
                    guard Double(node.allocated.cpu + 8) <= target * Double(node.capacity.cpu) else { break }
                    each = ResourceVector(gpus: 0, cpu: 8, memoryGiB: 32)
                }
                guard each.fits(in: node.free) else { break }
                node.allocated = node.allocated + each
                let tenant = Int.random(in: 0..<tenantCount, using: &generator)
                running.append(
                    RunningJob(
                        id: uuid(&generator), tenant: tenantName(tenant), priorityClass: .normal, flavor: node.flavor, perReplica: each,
                        nodes: [node.id], startedAt: now.addingTimeInterval(-3_600),
                        endsBy: now.addingTimeInterval(Double.random(in: 600...86_400, using: &generator).rounded())))
            }
            nodes[i] = node
        }
        return (nodes, running)
    }

    /// `count` pending jobs. Flavors in proportion to their GPUs (8% CPU jobs); 1–2 GPUs per replica on
    /// 2-GPU flavors, 1–8 on 8-GPU flavors; 8% gangs of 2–8 replicas, half of them in one zone;
    /// classes 3% critical, 12% high, 45% normal, 20% low, 20% batch; waits up to 6 h (aging one class
    /// per hour); max runtimes 30 min to 24 h.
    static func pending(count: Int, cluster: [SchedulingNode], seed: UInt64 = 11) -> [PendingJob] {
        var generator = SplitMix(seed: seed)
        var gpusByFlavor: [String: Int] = [:]
        for node in cluster where node.capacity.gpus > 0 { gpusByFlavor[node.flavor, default: 0] += node.capacity.gpus }
        let gpuFlavors = gpusByFlavor.keys.sorted()
        let totalGPUs = gpusByFlavor.values.reduce(0, +)
        let maxGPUs = Dictionary(cluster.map { ($0.flavor, $0.capacity.gpus) }, uniquingKeysWith: max)
        let tenantNames = (0..<tenantCount).map(tenantName)
        let runtimes = [1_800, 3_600, 7_200, 14_400, 28_800, 86_400]
        var jobs: [PendingJob] = []
        jobs.reserveCapacity(count)
        for _ in 0..<count {
            let classRoll = Int.random(in: 0..<100, using: &generator)
            let priorityClass: SchedulingClass =
                classRoll < 3 ? .critical : classRoll < 15 ? .high : classRoll < 60 ? .normal : classRoll < 80 ? .low : .batch
            let wait = pow(Double.random(in: 0...1, using: &generator), 3) * 6 * 3_600
            let tenant = tenantNames[Int.random(in: 0..<tenantCount, using: &generator)]
            let gang = Int.random(in: 0..<100, using: &generator) < 8
            var replicas = gang ? Int.random(in: 2...8, using: &generator) : 1
            let sameZone = gang && Bool.random(using: &generator)
            let flavor: String
            let each: ResourceVector
            if Int.random(in: 0..<100, using: &generator) < 8 || totalGPUs == 0 {
                flavor = "cpu"
                let cores = [4, 8, 16, 32].randomElement(using: &generator)!
                each = ResourceVector(gpus: 0, cpu: cores, memoryGiB: cores * 4)
                if gang { replicas = min(replicas, 4) }
            } else {
                var pick = Int.random(in: 0..<totalGPUs, using: &generator)
                var chosen = gpuFlavors[0]
                for name in gpuFlavors {
                    if pick < gpusByFlavor[name]! {
                        chosen = name
                        break
                    }
                    pick -= gpusByFlavor[name]!
                }
                flavor = chosen
                let sizes = maxGPUs[chosen]! >= 8 ? [1, 1, 1, 2, 2, 4, 4, 8] : [1, 1, 1, 2, 2]
                let gpus = gang && maxGPUs[chosen]! >= 8 ? [4, 8, 8].randomElement(using: &generator)! : sizes.randomElement(using: &generator)!
                each = ResourceVector(gpus: gpus, cpu: gpus * [4, 6, 8].randomElement(using: &generator)!, memoryGiB: gpus * [16, 32].randomElement(using: &generator)!)
            }
            jobs.append(
                PendingJob(
                    id: uuid(&generator), tenant: tenant, priorityClass: priorityClass, flavor: flavor, perReplica: each, replicas: replicas,
                    sameZone: sameZone, submittedAt: now.addingTimeInterval(-wait.rounded()),
                    maxRuntimeSeconds: runtimes.randomElement(using: &generator)!))
        }
        return jobs
    }

    static func uuid(_ generator: inout SplitMix) -> UUID {
        let a = generator.next()
        let b = generator.next()
        return withUnsafeBytes(of: (a, b)) { bytes in
            UUID(uuid: bytes.load(as: uuid_t.self))
        }
    }
}
