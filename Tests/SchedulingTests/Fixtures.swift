import Foundation
import Scheduling

/// Small hand-made clusters and jobs. `now` is 2027-01-15T08:00:00Z; times are seconds from it.
enum Fixture {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Job n's id: `0000000N-0000-4000-8000-00000000000N` in hex.
    static func id(_ n: Int) -> UUID {
        let hex = String(n, radix: 16, uppercase: true)
        let pad8 = String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        let pad12 = String(repeating: "0", count: max(0, 12 - hex.count)) + hex
        return UUID(uuidString: "\(pad8)-0000-4000-8000-\(pad12)")!
    }

    static func node(
        _ id: String, flavor: String = "gpu-v100", zone: String = "z1", state: NodeState = .ready, gpus: Int = 8, cpu: Int = 96,
        memory: Int = 384, used: ResourceVector = .zero
    ) -> SchedulingNode {
        SchedulingNode(
            id: id, pool: "\(flavor)-pool", flavor: flavor, zone: zone, rack: "\(zone)-r1", state: state,
            capacity: ResourceVector(gpus: gpus, cpu: cpu, memoryGiB: memory), allocated: used)
    }

    static func job(
        _ n: Int, tenant: String = "acme", _ priorityClass: SchedulingClass = .normal, flavor: String = "gpu-v100", gpus: Int,
        cpu: Int = 4, memory: Int = 32, replicas: Int = 1, sameZone: Bool = false, submitted: TimeInterval = -60, runtime: Int = 3_600
    ) -> PendingJob {
        PendingJob(
            id: id(n), tenant: tenant, priorityClass: priorityClass, flavor: flavor,
            perReplica: ResourceVector(gpus: gpus, cpu: cpu, memoryGiB: memory), replicas: replicas, sameZone: sameZone,
            submittedAt: now.addingTimeInterval(submitted), maxRuntimeSeconds: runtime)
    }

    static func running(
        _ n: Int, tenant: String = "acme", flavor: String = "gpu-v100", gpus: Int, cpu: Int = 4, memory: Int = 32, nodes: [String],
        endsIn: TimeInterval = 7_200
    ) -> RunningJob {
        RunningJob(
            id: id(1000 + n), tenant: tenant, priorityClass: .normal, flavor: flavor,
            perReplica: ResourceVector(gpus: gpus, cpu: cpu, memoryGiB: memory), nodes: nodes,
            startedAt: now.addingTimeInterval(-600), endsBy: now.addingTimeInterval(endsIn))
    }

    /// A tenant whose quota never binds in these tests.
    static func tenant(_ name: String, weight: Double = 1, cohort: String? = nil, quotas: [String: TenantQuota]? = nil) -> TenantPolicy {
        TenantPolicy(
            name: name, weight: weight, cohort: cohort,
            quotas: quotas ?? ["gpu-v100": TenantQuota(nominal: 1_000), "gpu-t4": TenantQuota(nominal: 1_000), "cpu": TenantQuota(nominal: 10_000)])
    }

    static func policy(_ tenants: [TenantPolicy] = [tenant("acme")], aging: TimeInterval? = nil, backfill: Bool = true) -> SchedulingPolicy {
        SchedulingPolicy(
            tenants: Dictionary(uniqueKeysWithValues: tenants.map { ($0.name, $0) }),
            quotaUnits: ["gpu-v100": .gpu, "gpu-t4": .gpu, "cpu": .cpu], agingInterval: aging, backfill: backfill, now: now)
    }

    static func schedule(
        _ nodes: [SchedulingNode], running: [RunningJob] = [], _ pending: [PendingJob], policy: SchedulingPolicy = policy()
    ) -> SchedulingResult {
        Scheduler.schedule(cluster: nodes, running: running, pending: pending, policy: policy)
    }
}

extension SchedulingResult {
    /// Placed job numbers (as given to `Fixture.id`) in order of placement.
    var placedOrder: [Int] { placements.map { Fixture.number($0.jobID) } }
    /// Job number → nodes.
    var nodesByJob: [Int: [String]] { Dictionary(uniqueKeysWithValues: placements.map { (Fixture.number($0.jobID), $0.nodes) }) }
    func status(_ n: Int) -> PendingStatus? { pending.first { $0.jobID == Fixture.id(n) } }
    func placement(_ n: Int) -> Placement? { placements.first { $0.jobID == Fixture.id(n) } }
}

extension Fixture {
    static func number(_ id: UUID) -> Int { Int(id.uuidString.suffix(12), radix: 16)! }
}
