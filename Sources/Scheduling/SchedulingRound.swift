import Foundation

/// One scheduling round, one placement at a time: ``Scheduler/schedule(cluster:running:pending:policy:)``
/// is `nextPlacement()` until nil, then `finish()`. Stepping exists for the benchmark (it times each
/// placement) and for callers that want to act on placements as they are decided; the decisions are
/// the same either way. The rules are documented on ``Scheduler``.
///
/// Setup is O(nodes + running replicas + pending × log pending). Each decision is O(log tenants) for
/// the order plus, for the job's replicas, a few searches of a sorted index (never a scan of every
/// node or every pending job). `finish()` is O(pending).
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

    // MARK: Inputs

    let jobs: [PendingJob]
    let nowSeconds: Double
    let backfill: Bool

    // MARK: Flavors (numbered in name order)

    let flavorNames: [String]
    let quotaUnits: [QuotaUnit]
    var flavors: [FlavorCapacity]
    /// The flavors as they were when the round started (tells `queued` from `capacity`).
    var startFlavors: [FlavorCapacity]
    /// By flavor: when running jobs, and jobs placed this round, free their replicas.
    var releases: [[Release]]
    var releaseNodes: [[Int32]]
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

    // MARK: Jobs

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
        jobs = pending
        nowSeconds = policy.now.timeIntervalSince1970
        backfill = policy.backfill

        // Flavors and their ready nodes, in node id order.
        let flavorNames = Array(Set(nodes.map(\.flavor))).sorted()
        let flavorNumber = Dictionary(uniqueKeysWithValues: flavorNames.enumerated().map { ($1, $0) })
        let flavorCount = flavorNames.count
        self.flavorNames = flavorNames
        quotaUnits = flavorNames.map { policy.quotaUnits[$0] ?? .gpu }
        let byID = nodes.indices.sorted { nodes[$0].id < nodes[$1].id }
        var readyNodes = Array(repeating: [(id: String, zone: String, free: ResourceVector)](), count: flavorCount)
        /// Node id → (flavor, local number if ready else -1, lost).
        var nodeRef = [String: (flavor: Int, local: Int, lost: Bool)](minimumCapacity: nodes.count)
        var capacityGPUs = Array(repeating: 0, count: flavorCount)
        var totals = Array(repeating: 0.0, count: flavorCount + 2)
        for i in byID {
            let node = nodes[i]
            let flavor = flavorNumber[node.flavor]!
            guard nodeRef[node.id] == nil else { continue }  // ids are unique; a repeat is ignored
            var local = -1
            if node.state == .ready {
                capacityGPUs[flavor] = max(capacityGPUs[flavor], node.capacity.gpus)
                local = readyNodes[flavor].count
                let free = node.free
                readyNodes[flavor].append(
                    (node.id, node.zone, ResourceVector(gpus: max(0, free.gpus), cpu: max(0, free.cpu), memoryGiB: max(0, free.memoryGiB))))
            }
            nodeRef[node.id] = (flavor, local, node.state == .lost)
            if node.state != .lost {
                totals[flavor] += Double(max(0, node.capacity.gpus))
                totals[flavorCount] += Double(max(0, node.capacity.cpu))
                totals[flavorCount + 1] += Double(max(0, node.capacity.memoryGiB))
            }
        }
        flavors = flavorNames.indices.map { FlavorCapacity(name: flavorNames[$0], nodes: readyNodes[$0], capacityGPUs: capacityGPUs[$0]) }
        startFlavors = flavors
        self.totals = totals
        reservations = Array(repeating: .none, count: flavorCount)
        finalCapacity = Array(repeating: nil, count: flavorCount)

        // Tenants.
        let tenantNames = policy.tenants.keys.sorted()
        let tenantNumber = Dictionary(uniqueKeysWithValues: tenantNames.enumerated().map { ($1, $0) })
        let tenantCount = tenantNames.count
        self.tenantNames = tenantNames
        weights = tenantNames.map { policy.tenants[$0]!.weight }
        cohortNames = Array(Set(tenantNames.compactMap { policy.tenants[$0]!.cohort })).sorted()
        let cohortNumber = Dictionary(uniqueKeysWithValues: cohortNames.enumerated().map { ($1, $0) })
        cohortOf = tenantNames.map { name in policy.tenants[name]!.cohort.map { cohortNumber[$0]! } ?? -1 }
        var nominal = Array(repeating: 0, count: tenantCount * flavorCount)
        var borrowingLimit = nominal
        for (t, name) in tenantNames.enumerated() {
            for (flavorName, quota) in policy.tenants[name]!.quotas {
                guard let f = flavorNumber[flavorName] else { continue }
                nominal[t * flavorCount + f] = max(0, quota.nominal)
                borrowingLimit[t * flavorCount + f] = max(0, quota.borrowingLimit)
            }
        }
        self.nominal = nominal
        self.borrowingLimit = borrowingLimit

        // What tenants hold: running replicas, except those on lost nodes.
        let resourceCount = flavorCount + 2
        var usage = Array(repeating: 0.0, count: tenantCount * resourceCount)
        var quotaUsed = Array(repeating: 0, count: tenantCount * flavorCount)
        var releases = Array(repeating: [Release](), count: flavorCount)
        var releaseNodes = Array(repeating: [Int32](), count: flavorCount)
        for job in running {
            let flavor = flavorNumber[job.flavor] ?? -1
            var held = 0
            let first = flavor >= 0 ? releaseNodes[flavor].count : 0
            for nodeID in job.nodes {
                if let ref = nodeRef[nodeID] {
                    if ref.lost { continue }
                    if policy.backfill && ref.local >= 0 && ref.flavor == flavor { releaseNodes[flavor].append(Int32(ref.local)) }
                }
                held += 1
            }
            if flavor >= 0 && releaseNodes[flavor].count > first {
                releases[flavor].append(
                    Release(
                        end: job.endsBy.timeIntervalSince1970, need: job.perReplica, firstNode: Int32(first),
                        nodeCount: Int32(releaseNodes[flavor].count - first)))
            }
            guard let t = tenantNumber[job.tenant], held > 0 else { continue }
            let each = job.perReplica
            if flavor >= 0 {
                usage[t * resourceCount + flavor] += Double(held * each.gpus)
                quotaUsed[t * flavorCount + flavor] += held * (quotaUnits[flavor] == .gpu ? each.gpus : each.cpu)
            }
            usage[t * resourceCount + flavorCount] += Double(held * each.cpu)
            usage[t * resourceCount + flavorCount + 1] += Double(held * each.memoryGiB)
        }
        var cohortIdle = Array(repeating: 0, count: cohortNames.count * flavorCount)
        for t in 0..<tenantCount where cohortOf[t] >= 0 {
            for f in 0..<flavorCount {
                cohortIdle[cohortOf[t] * flavorCount + f] += max(0, nominal[t * flavorCount + f] - quotaUsed[t * flavorCount + f])
            }
        }
        self.usage = usage
        self.quotaUsed = quotaUsed
        self.cohortIdle = cohortIdle
        self.releases = releases
        self.releaseNodes = releaseNodes
        share = (0..<tenantCount).map { Self.weightedDominantShare(usage, totals, tenant: $0, weight: policy.tenants[tenantNames[$0]]!.weight) }

        // Pending jobs: numbers, effective classes, and the order within each (class, tenant).
        let count = pending.count
        var jobTenant = [Int32](repeating: -1, count: count)
        var jobFlavor = [Int32](repeating: -1, count: count)
        var jobClass = [UInt8](repeating: 0, count: count)
        let classCount = SchedulingClass.allCases.count
        let groups = classCount * tenantCount
        var groupSize = Array(repeating: 0, count: groups + 1)  // last: unknown tenants
        let interval = policy.agingInterval.flatMap { $0 > 0 ? $0 : nil }
        var lastTenant: (name: String, number: Int32) = ("", -1)
        for (i, job) in pending.enumerated() {
            var level = job.priorityClass.rawValue
            if let interval {
                let waited = nowSeconds - job.submittedAt.timeIntervalSince1970
                if waited >= interval { level += Int(min(waited / interval, Double(classCount))) }
            }
            level = min(level, SchedulingClass.critical.rawValue)
            jobClass[i] = UInt8(level)
            if job.tenant != lastTenant.name { lastTenant = (job.tenant, Int32(tenantNumber[job.tenant] ?? -1)) }
            jobTenant[i] = lastTenant.number
            jobFlavor[i] = Int32(flavorNumber[job.flavor] ?? -1)
            groupSize[lastTenant.number >= 0 ? level * tenantCount + Int(lastTenant.number) : groups] += 1
        }
        var groupStart = Array(repeating: 0, count: groups + 2)
        for g in 0...groups { groupStart[g + 1] = groupStart[g] + groupSize[g] }
        var fill = groupStart
        var order = [Int32](repeating: 0, count: count)
        for i in 0..<count {
            let group = jobTenant[i] >= 0 ? Int(jobClass[i]) * tenantCount + Int(jobTenant[i]) : groups
            order[fill[group]] = Int32(i)
            fill[group] += 1
        }
        let submitted = pending.map(\.submittedAt.timeIntervalSince1970)
        let ids = pending.map { Self.sortKey($0.id) }
        func byTime(_ a: Int32, _ b: Int32) -> Bool {
            let (a, b) = (Int(a), Int(b))
            if submitted[a] != submitted[b] { return submitted[a] < submitted[b] }
            return ids[a] < ids[b]
        }
        for g in 0..<groups where groupSize[g] > 1 { order[groupStart[g]..<groupStart[g + 1]].sort(by: byTime) }
        order[groupStart[groups]..<count].sort { a, b in
            jobClass[Int(a)] != jobClass[Int(b)] ? jobClass[Int(a)] > jobClass[Int(b)] : byTime(a, b)
        }
        self.jobTenant = jobTenant
        self.jobFlavor = jobFlavor
        self.jobClass = jobClass
        self.order = order
        let unitsAreGPUs = quotaUnits.map { $0 == .gpu }
        demands = order.map { j in
            let job = pending[Int(j)]
            let f = Int(jobFlavor[Int(j)])
            let replicas = max(1, min(job.replicas, Int(Int32.max)))
            let each = job.perReplica
            let clamp = { (value: Int) in Int32(min(max(value, 0), Int(Int32.max))) }
            let unitsEach = f < 0 ? 0 : unitsAreGPUs[f] ? max(0, each.gpus) : max(0, each.cpu)
            return Demand(
                gpus: clamp(each.gpus), cpu: clamp(each.cpu), memoryGiB: clamp(each.memoryGiB), replicas: Int32(replicas),
                flavor: Int32(f), units: clamp(replicas * unitsEach), sameZone: job.sameZone,
                ends: policy.now.timeIntervalSince1970 + Double(job.maxRuntimeSeconds))
        }
        cursor = Array(groupStart[0..<groups])
        groupEnd = Array(groupStart[1...groups])
        unknownTenantJobs = groupStart[groups]..<count
        waitingJobs.reserveCapacity(count)
        waitingCodes.reserveCapacity(count)
    }

    static func sortKey(_ id: UUID) -> (UInt64, UInt64) {
        withUnsafeBytes(of: id.uuid) { bytes in
            (
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        }
    }

    static func weightedDominantShare(_ usage: [Double], _ totals: [Double], tenant: Int, weight: Double) -> Double {
        var dominant = 0.0
        let base = tenant * totals.count
        for r in totals.indices where totals[r] > 0 { dominant = max(dominant, usage[base + r] / totals[r]) }
        if weight > 0 { return dominant / weight }
        return dominant > 0 ? .infinity : 0
    }

    // MARK: Stepping

    /// Decides jobs in order of service until one is placed, and returns that placement; nil when
    /// every job has been decided.
    public mutating func nextPlacement() -> Placement? {
        let tenantCount = tenantNames.count
        while !finished {
            if let tenant = heap.popMin() {
                let group = currentClass * tenantCount + tenant
                let position = cursor[group]
                cursor[group] += 1
                let placement = decide(at: position, tenant: tenant)
                if cursor[group] < groupEnd[group] { heap.push(tenant, share: share[tenant]) }
                if let placement { return placement }
                continue
            }
            currentClass -= 1
            if currentClass >= 0 {
                for tenant in 0..<tenantCount where cursor[currentClass * tenantCount + tenant] < groupEnd[currentClass * tenantCount + tenant] {
                    heap.push(tenant, share: share[tenant])
                }
            } else {
                for i in unknownTenantJobs { wait(Int(order[i]), .unknownTenant) }
                finished = true
            }
        }
        return nil
    }

    /// The job's quota ceiling for its flavor now: nominal plus what it may borrow from its cohort.
    func quotaCeiling(tenant t: Int, flavor f: Int) -> (ceiling: Int, lendable: Int) {
        let q = t * flavorCount + f
        let cohort = cohortOf[t]
        guard cohort >= 0 else { return (nominal[q], 0) }
        let lendable = cohortIdle[cohort * flavorCount + f] - max(0, nominal[q] - quotaUsed[q])
        return (nominal[q] + min(borrowingLimit[q], lendable), lendable)
    }

    func quotaUnits(of job: PendingJob, flavor f: Int) -> Int {
        max(1, job.replicas) * max(0, quotaUnits[f] == .gpu ? job.perReplica.gpus : job.perReplica.cpu)
    }

    private mutating func wait(_ job: Int, _ code: PendingReason.Code) {
        waitingJobs.append(Int32(job))
        waitingCodes.append(code)
    }

    /// Decides the job at `position` in `order`.
    private mutating func decide(at position: Int, tenant t: Int) -> Placement? {
        let job = Int(order[position])
        let demand = demands[position]
        let f = Int(demand.flavor)
        guard f >= 0, !flavors[f].isEmpty else {
            wait(job, .noNodes)
            return nil
        }
        let units = Int(demand.units)
        let q = t * flavorCount + f
        let used = quotaUsed[q]
        guard units == 0 || used + units <= quotaCeiling(tenant: t, flavor: f).ceiling else {
            wait(job, .quota)
            return nil
        }
        let replicas = Int(demand.replicas)
        let need = demand.need
        let ends = demand.ends
        let sameZone = demand.sameZone
        var reserved = false
        var constrained = false
        if case .reserved(let reservation) = reservations[f] {
            reserved = true
            constrained = ends > reservation.start
        }
        let attempt = flavors[f].place(need, replicas: replicas, sameZone: sameZone, constrained: constrained)
        guard let nodes = attempt.nodes else {
            if constrained && attempt.skippedReserved && flavors[f].canPlace(need, replicas: replicas, sameZone: sameZone) {
                wait(job, .reserved)
            } else {
                if backfill { considerReservation(for: job, flavor: f, need: need, replicas: replicas, sameZone: sameZone) }
                wait(job, .capacity)
            }
            return nil
        }

        // Commit: quota, cohort, fair share, release time.
        let nominal = self.nominal[q]
        quotaUsed[q] = used + units
        let borrowed = max(0, used + units - nominal) - max(0, used - nominal)
        if cohortOf[t] >= 0 {
            cohortIdle[cohortOf[t] * flavorCount + f] += max(0, nominal - used - units) - max(0, nominal - used)
        }
        let base = t * resourceCount
        usage[base + f] += Double(replicas * need.gpus)
        usage[base + flavorCount] += Double(replicas * need.cpu)
        usage[base + flavorCount + 1] += Double(replicas * need.memoryGiB)
        share[t] = Self.weightedDominantShare(usage, totals, tenant: t, weight: weights[t])
        if backfill {
            releases[f].append(Release(end: ends, need: need, firstNode: Int32(releaseNodes[f].count), nodeCount: Int32(nodes.count)))
            for node in nodes { releaseNodes[f].append(Int32(node)) }
        }
        let placement = Placement(
            jobID: jobs[job].id, nodes: nodes.map { flavors[f].nodeIDs[$0] }, borrowedUnits: borrowed, backfilled: reserved)
        placements.append(placement)
        return placement
    }

    // MARK: Backfill

    /// Called for a job that fits its quota but not the free capacity, while its flavor holds no
    /// reservation: projects the flavor forward, releasing jobs as they reach their end time, and
    /// reserves the first moment (and nodes) at which the gang fits. Runs the projection at most
    /// twice per flavor per round: once for the first blocked job, and again only for a later one
    /// that fits the flavor's fully released capacity when the first did not.
    private mutating func considerReservation(for job: Int, flavor f: Int, need: ResourceVector, replicas: Int, sameZone: Bool) {
        switch reservations[f] {
        case .reserved:
            return
        case .unreachable:
            // In place: a copy of a flavor's capacity is O(its nodes).
            guard finalCapacity[f]!.canPlace(need, replicas: replicas, sameZone: sameZone) else { return }
        case .none:
            break
        }
        var projection = flavors[f]
        projection.slack = [:]
        releases[f].sort { $0.end < $1.end }
        let events = releases[f]
        var i = 0
        while i < events.count {
            let time = events[i].end
            while i < events.count && events[i].end == time {
                let event = events[i]
                for n in Int(event.firstNode)..<Int(event.firstNode + event.nodeCount) {
                    projection.change(Int(releaseNodes[f][n]), by: event.need)
                }
                i += 1
            }
            if let nodes = projection.place(need, replicas: replicas, sameZone: sameZone).nodes {
                // The projection now holds the gang: what its nodes still have free is their slack.
                var slack = [Int: ResourceVector]()
                for node in nodes { slack[node] = projection.free[node] }
                flavors[f].slack = slack
                reservations[f] = .reserved(Reservation(job: job, start: max(time, nowSeconds)))
                return
            }
        }
        finalCapacity[f] = projection
        reservations[f] = .unreachable
    }
}
