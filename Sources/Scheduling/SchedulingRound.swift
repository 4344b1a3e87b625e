import Foundation

/// One scheduling round, one placement at a time: ``Scheduler/schedule(cluster:running:pending:policy:)``
/// is `nextPlacement()` until nil, then `finish()`. Stepping exists for the benchmark (it times each
/// placement) and for callers that want to act on placements as they are decided; the decisions are
/// the same either way. The rules are documented on ``Scheduler``.
///
/// Setup is O(nodes log nodes + running replicas + pending log pending) from the inputs, O(pending
/// log pending + tenants × flavors) over a prepared cluster and running jobs kept current. Each decision is
/// O(log tenants) for the order plus, for the job's replicas, a few searches of a sorted index (never
/// a scan of every node or every pending job). `finish()` is O(pending).
///
/// Files: the state (here), `+Setup` (building it from the inputs), `+Decisions` (the order, quota,
/// placement and backfill), `+Explanations` (`finish()`).
public struct SchedulingRound: Sendable {
    /// A job that frees `need` on each of its nodes (`releaseNodes[f][firstNode..<firstNode + nodeCount]`)
    /// at `end`. Flat, so a running set of thousands of jobs costs no allocation per job.
    struct Release: Sendable {
        var end: Double
        var need: ResourceVector
        var firstNode: Int32
        var nodeCount: Int32
    }

    struct Reservation: Sendable {
        var job: Int
        var start: Double
    }

    enum ReservationState: Sendable {
        case none
        /// A blocked job could not be placed even after every job of the flavor ended; the flavor's
        /// capacity at that point is kept in `finalCapacity`, to turn away later candidates cheaply.
        case unreachable
        case reserved(Reservation)
    }

    /// What a decision needs of a job, stored in service order (`demands[i]` is job `order[i]`), so
    /// the round reads each tenant's queue sequentially instead of hopping through `jobs`.
    struct Demand: Sendable {
        var gpus: Int32
        var cpu: Int32
        var memoryGiB: Int32
        var replicas: Int32
        var flavor: Int32
        /// Quota units (GPUs or cores × replicas), 0 when the flavor is unknown.
        var units: Int32
        var sameZone: Bool
        /// now + max runtime.
        var ends: Double

        var need: ResourceVector { ResourceVector(gpus: Int(gpus), cpu: Int(cpu), memoryGiB: Int(memoryGiB)) }
    }

    // MARK: Inputs

    let jobs: [PendingJob]
    let nowSeconds: Double
    let backfill: Bool

    // MARK: Flavors (numbered in name order)

    let flavorNames: [String]
    let quotaUnits: [QuotaUnit]
    var flavors: [FlavorCapacity]
    let hasReadyNodes: [Bool]
    /// The flavors as they were when the round started (tells `queued` from `capacity`).
    let startFlavors: [FlavorCapacity]
    /// The running jobs, for backfill projections.
    let held: HeldJobs
    /// By flavor: when jobs placed this round, and (once `addHeldReleases` ran for the flavor)
    /// running jobs, free their replicas.
    var releases: [[Release]]
    var releaseNodes: [[Int32]]
    var heldReleasesAdded: [Bool]
    var reservations: [ReservationState]
    /// By flavor, once a projection ran to the end: the capacity with every job of the flavor ended.
    /// (Jobs placed later do not change it: each adds a release of what it takes.)
    var finalCapacity: [FlavorCapacity?]

    // MARK: Tenants (numbered in name order)

    let tenantNames: [String]
    let weights: [Double]
    /// Cohort number per tenant, -1 for none.
    let cohortOf: [Int]
    let cohortNames: [String]
    /// [tenant * flavorCount + flavor], in the flavor's quota unit.
    let nominal: [Int]
    let borrowingLimit: [Int]
    var quotaUsed: [Int]
    /// [cohort * flavorCount + flavor]: sum over the cohort's tenants of max(0, nominal - used).
    var cohortIdle: [Int]
    /// Cluster totals of the fair-share resources: GPUs of each flavor, then cores, then memory.
    let totals: [Double]
    /// [tenant * resourceCount + resource].
    var usage: [Double]
    /// Weighted dominant share per tenant.
    var share: [Double]

    // MARK: Jobs (numbered as in `jobs`)

    let jobTenant: [Int32]
    let jobFlavor: [Int32]
    let jobClass: [UInt8]
    /// Job numbers grouped by (class, tenant), each group by submit time then id; jobs of unknown
    /// tenants last.
    let order: [Int32]
    let demands: [Demand]
    /// Per (class * tenantCount + tenant): next and end offsets into `order`.
    var cursor: [Int]
    let groupEnd: [Int]
    let unknownTenantJobs: Range<Int>

    // MARK: Progress

    /// The class being served; 5 before the first, -1 when only unknown tenants are left.
    var currentClass = SchedulingClass.critical.rawValue + 1
    var heap = TenantHeap()
    var finished = false
    var placements: [Placement] = []
    /// Jobs left pending in order of service, with why.
    var waitingJobs: [Int32] = []
    var waitingCodes: [PendingReason.Code] = []

    var flavorCount: Int { flavorNames.count }
    var resourceCount: Int { flavorNames.count + 2 }

    public init(cluster nodes: [SchedulingNode], running: [RunningJob], pending: [PendingJob], policy: SchedulingPolicy) {
        self.init(prepared: PreparedCluster(nodes), running: running, pending: pending, policy: policy)
    }

    /// A round over a cluster prepared earlier and kept current (``PreparedCluster``).
    public init(prepared cluster: PreparedCluster, running: [RunningJob], pending: [PendingJob], policy: SchedulingPolicy) {
        self.init(prepared: cluster, held: HeldJobs(running, in: cluster), pending: pending, policy: policy)
    }

    /// A round over a cluster and its running jobs, both prepared earlier and kept current
    /// (``PreparedCluster``, ``HeldJobs``).
    public init(prepared cluster: PreparedCluster, held: HeldJobs, pending: [PendingJob], policy: SchedulingPolicy) {
        precondition(held.flavorSlots == cluster.flavorNames.count + 1, "HeldJobs was built for another cluster")
        jobs = pending
        nowSeconds = policy.now.timeIntervalSince1970
        backfill = policy.backfill

        let flavorNames = cluster.flavorNames
        let flavorNumber = cluster.flavorNumber
        self.flavorNames = flavorNames
        quotaUnits = flavorNames.map { policy.quotaUnits[$0] ?? .gpu }
        flavors = cluster.flavors
        startFlavors = cluster.flavors
        hasReadyNodes = cluster.flavors.map { !$0.isEmpty }
        totals = cluster.totals
        reservations = Array(repeating: .none, count: flavorNames.count)
        finalCapacity = Array(repeating: nil, count: flavorNames.count)

        let tenants = Self.tenants(policy, flavorNumber: flavorNumber, flavorCount: flavorNames.count)
        tenantNames = tenants.names
        weights = tenants.weights
        cohortNames = tenants.cohortNames
        cohortOf = tenants.cohortOf
        nominal = tenants.nominal
        borrowingLimit = tenants.borrowingLimit
        let tenantNumber = NameTable(tenants.names)

        let holdings = Self.holdings(held, tenantNumber: tenantNumber, quotaUnits: quotaUnits, tenantCount: tenants.names.count)
        usage = holdings.usage
        quotaUsed = holdings.quotaUsed
        self.held = held
        releases = Array(repeating: [], count: flavorNames.count)
        releaseNodes = Array(repeating: [], count: flavorNames.count)
        heldReleasesAdded = Array(repeating: false, count: flavorNames.count)
        var cohortIdle = Array(repeating: 0, count: tenants.cohortNames.count * flavorNames.count)
        for t in tenants.names.indices where tenants.cohortOf[t] >= 0 {
            for f in flavorNames.indices {
                let q = t * flavorNames.count + f
                cohortIdle[tenants.cohortOf[t] * flavorNames.count + f] += max(0, tenants.nominal[q] - holdings.quotaUsed[q])
            }
        }
        self.cohortIdle = cohortIdle
        share = tenants.names.indices.map {
            Self.weightedDominantShare(holdings.usage, cluster.totals, tenant: $0, weight: tenants.weights[$0])
        }

        let queues = Self.queues(
            pending, policy: policy, tenantNumber: tenantNumber, tenantCount: tenants.names.count, flavorNumber: flavorNumber,
            quotaUnits: quotaUnits)
        jobTenant = queues.jobTenant
        jobFlavor = queues.jobFlavor
        jobClass = queues.jobClass
        order = queues.order
        demands = queues.demands
        let groups = queues.groupStart.count - 2
        cursor = Array(queues.groupStart[0..<groups])
        groupEnd = Array(queues.groupStart[1...groups])
        unknownTenantJobs = queues.groupStart[groups]..<pending.count
        waitingJobs.reserveCapacity(pending.count)
        waitingCodes.reserveCapacity(pending.count)
    }

    static func weightedDominantShare(_ usage: [Double], _ totals: [Double], tenant: Int, weight: Double) -> Double {
        var dominant = 0.0
        let base = tenant * totals.count
        for r in totals.indices where totals[r] > 0 { dominant = max(dominant, usage[base + r] / totals[r]) }
        if weight > 0 { return dominant / weight }
        return dominant > 0 ? .infinity : 0
    }
}
