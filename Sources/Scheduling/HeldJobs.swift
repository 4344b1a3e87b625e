import Foundation

/// The running jobs as a round counts them, resolved once against a ``PreparedCluster``'s nodes
/// instead of every round: each job's flavor number, how many of its replicas hold capacity (all
/// but those on lost nodes), and which ready nodes it frees for backfill; and, summed over each
/// tenant's jobs, what the tenant holds of each flavor. Its owner adds each job placed and removes
/// each job released (O(1) each), so a round's setup reads one sum per tenant and flavor instead
/// of every running job (with 50,000 running jobs that pass was most of a round; the per-job
/// records are read only for a backfill projection, one flavor at a time).
///
/// Valid for the prepared cluster it was built with: a node's state (ready, lost) changes only with
/// a new cluster, and with it a new `HeldJobs`. Rounds over it decide exactly as rounds given the
/// running jobs themselves (a test checks this).
public struct HeldJobs: Sendable {
    struct Held: Sendable {
        var id: UUID
        /// Into `tenantNames`.
        var tenant: Int32
        /// The prepared cluster's flavor number, -1 for a flavor it does not have.
        var flavor: Int32
        var perReplica: ResourceVector
        var end: Double
        /// Replicas holding capacity: those not on lost nodes (a node the cluster does not list
        /// still counts: the replica holds capacity somewhere).
        var replicasHeld: Int
        /// The flavor's ready nodes (local numbers) its replicas free when it ends.
        var releaseNodes: [Int32]
    }

    /// What one tenant's jobs hold of one flavor: replicas held × each replica's need, summed.
    struct Holding: Sendable, Equatable {
        var gpus = 0
        var cpu = 0
        var memoryGiB = 0
    }

    private(set) var jobs: [Held] = []
    /// Each job's place in `jobs`.
    private var slot: [UUID: Int] = [:]
    /// Every tenant name a job held here has had, numbered in order of first sight.
    private(set) var tenantNames: [String] = []
    private var tenantIndex: [String: Int32] = [:]
    /// The prepared cluster's flavors, plus one slot (the first) for flavors it does not have.
    let flavorSlots: Int
    /// [tenant * flavorSlots + flavor + 1], tenants as in `tenantNames`.
    private(set) var holdings: [Holding] = []

    public init(_ running: [RunningJob], in cluster: PreparedCluster) {
        flavorSlots = cluster.flavorNames.count + 1
        jobs.reserveCapacity(running.count)
        for job in running { insert(job, in: cluster) }
    }

    public var count: Int { jobs.count }

    /// Adds a job placed on `cluster`'s nodes (a job already held is replaced).
    public mutating func insert(_ job: RunningJob, in cluster: PreparedCluster) {
        remove(job.id)
        let flavor = cluster.flavorNumber.number(job.flavor) ?? -1
        var replicasHeld = 0
        var releaseNodes: [Int32] = []
        for nodeID in job.nodes {
            if let ref = cluster.nodeRef[nodeID] {
                if ref.lost { continue }
                if ref.local >= 0 && ref.flavor == flavor { releaseNodes.append(Int32(ref.local)) }
            }
            replicasHeld += 1
        }
        let tenant: Int32
        if let known = tenantIndex[job.tenant] {
            tenant = known
        } else {
            tenant = Int32(tenantNames.count)
            tenantNames.append(job.tenant)
            tenantIndex[job.tenant] = tenant
            holdings.append(contentsOf: repeatElement(Holding(), count: flavorSlots))
        }
        let held = Held(
            id: job.id, tenant: tenant, flavor: Int32(flavor), perReplica: job.perReplica, end: job.endsBy.timeIntervalSince1970,
            replicasHeld: replicasHeld, releaseNodes: releaseNodes)
        add(held, sign: 1)
        slot[job.id] = jobs.count
        jobs.append(held)
    }

    /// Removes a job released; one not held is ignored.
    public mutating func remove(_ id: UUID) {
        guard let index = slot.removeValue(forKey: id) else { return }
        add(jobs[index], sign: -1)
        let last = jobs.count - 1
        if index != last {
            jobs[index] = jobs[last]
            slot[jobs[index].id] = index
        }
        jobs.removeLast()
    }

    private mutating func add(_ job: Held, sign: Int) {
        let index = Int(job.tenant) * flavorSlots + Int(job.flavor) + 1
        let replicas = sign * job.replicasHeld
        holdings[index].gpus += replicas * job.perReplica.gpus
        holdings[index].cpu += replicas * job.perReplica.cpu
        holdings[index].memoryGiB += replicas * job.perReplica.memoryGiB
    }
}
