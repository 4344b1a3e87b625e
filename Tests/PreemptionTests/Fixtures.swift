import Preemption
import Scheduling

/// Small hand-made clusters and jobs. `now` is Unix second 1,800,000,000 (2027-01-15T08:00:00Z);
/// times are seconds from it. Nodes default to 8 GPUs, 96 cores, 384 GiB of gpu-v100 in zone z1, and
/// their free capacity is what the running jobs given to `Fixture.cluster` leave.
enum Fixture {
    static let now = 1_800_000_000.0

    static func node(
        _ id: String, flavor: String = "gpu-v100", zone: String = "z1", placeable: Bool = true, gpus: Int = 8, cpu: Int = 96,
        memory: Int = 384
    ) -> PreemptionNode {
        let capacity = Resources(gpus: gpus, cpu: cpu, memoryGiB: memory)
        return PreemptionNode(id: id, flavor: flavor, zone: zone, capacity: capacity, free: capacity, placeable: placeable)
    }

    /// The nodes with what `running` (and `otherUse`, by node id) takes off their free capacity.
    static func cluster(_ nodes: [PreemptionNode], running: [Preemption.RunningJob], otherUse: [String: Resources] = [:]) -> [PreemptionNode] {
        nodes.map { node in
            var node = node
            for job in running { for id in job.nodes where id == node.id { node.free = node.free - job.perReplica } }
            if let used = otherUse[node.id] { node.free = node.free - used }
            return node
        }
    }

    /// A running job; `started` and `checkpoint` are seconds from `now` (negative: in the past).
    static func running(
        _ id: String, tenant: String = "beta", _ priorityClass: PriorityClass = .low, flavor: String = "gpu-v100", gpus: Int = 8,
        cpu: Int = 8, memory: Int = 64, nodes: [String], started: Double = -3_600, checkpoint: Double? = nil, price: Double = 2,
        borrowing: Bool = false
    ) -> Preemption.RunningJob {
        Preemption.RunningJob(
            id: id, tenant: tenant, priorityClass: priorityClass, flavor: flavor,
            perReplica: Resources(gpus: gpus, cpu: cpu, memoryGiB: memory),
            nodes: nodes, startedAt: now + started, lastCheckpointAt: checkpoint.map { now + $0 }, pricePerUnitHour: price,
            borrowing: borrowing)
    }

    static func request(
        tenant: String = "acme", _ priorityClass: PriorityClass = .high, flavor: String = "gpu-v100", gpus: Int = 8, cpu: Int = 8,
        memory: Int = 64, replicas: Int = 1, sameZone: Bool = false, underNominal: Bool = false
    ) -> PreemptionRequest {
        PreemptionRequest(
            id: "preemptor", tenant: tenant, priorityClass: priorityClass, flavor: flavor,
            perReplica: Resources(gpus: gpus, cpu: cpu, memoryGiB: memory), replicas: replicas, sameZone: sameZone,
            tenantUnderNominal: underNominal)
    }

    static func policy(minimumRuntime: [PriorityClass: Double] = [:]) -> PreemptionPolicy {
        PreemptionPolicy(minimumRuntimeSeconds: minimumRuntime, now: now)
    }

    /// Chooses for `request` on `nodes` less what `running` (and `otherUse`) takes.
    static func choose(
        _ request: PreemptionRequest, nodes: [PreemptionNode], running: [Preemption.RunningJob], otherUse: [String: Resources] = [:],
        alreadyPreempting: Set<String> = [], policy: PreemptionPolicy = policy()
    ) -> PreemptionDecision {
        VictimSelection.choose(
            for: request, nodes: cluster(nodes, running: running, otherUse: otherUse), running: running,
            alreadyPreempting: alreadyPreempting,
            policy: policy)
    }
}

extension PreemptionDecision {
    var victimIDs: [String] { victims.map(\.jobID) }
}
