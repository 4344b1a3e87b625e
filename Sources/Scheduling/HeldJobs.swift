import Foundation

/// The running jobs as a round counts them, resolved once against a ``PreparedCluster``'s nodes
/// instead of every round: each job's flavor number, how many of its replicas hold capacity (all
/// but those on lost nodes), and which ready nodes it frees for backfill. Its owner adds each job
/// placed and removes each job released (O(1) each), so a round's setup is a pass over flat
/// numbers instead of thousands of node and tenant lookups by string (most of a round's setup at
/// 5,000 running jobs).
///
/// Valid for the prepared cluster it was built with: a node's state (ready, lost) changes only with
/// a new cluster, and with it a new `HeldJobs`. Rounds over it decide exactly as rounds given the
/// running jobs themselves (a test checks this).
public struct HeldJobs: Sendable {
    struct Held: Sendable {
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

    private(set) var jobs: [Held] = []
    private var ids: [UUID] = []
    private var slot: [UUID: Int] = [:]
    /// Every tenant name a job held here has had, numbered in order of first sight.
    private(set) var tenantNames: [String] = []
    private var tenantIndex: [String: Int32] = [:]

    public init(_ running: [RunningJob], in cluster: PreparedCluster) {
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
        }
        slot[job.id] = jobs.count
        ids.append(job.id)
        jobs.append(
            Held(
                tenant: tenant, flavor: Int32(flavor), perReplica: job.perReplica, end: job.endsBy.timeIntervalSince1970,
                replicasHeld: replicasHeld, releaseNodes: releaseNodes))
    }

    /// Removes a job released; one not held is ignored.
    public mutating func remove(_ id: UUID) {
        guard let index = slot.removeValue(forKey: id) else { return }
        let last = jobs.count - 1
        if index != last {
            jobs[index] = jobs[last]
            ids[index] = ids[last]
            slot[ids[index]] = index
        }
        jobs.removeLast()
        ids.removeLast()
    }
}
