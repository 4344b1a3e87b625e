import Foundation

/// Building a round's state from the inputs.
extension SchedulingRound {
    struct NodeRef {
        var flavor: Int
        /// Number among the flavor's ready nodes, -1 when not ready.
        var local: Int
        var lost: Bool
    }

    /// Ready nodes per flavor (in node id order, with their free capacity), fair-share totals, and
    /// where each node id is (by id, and by place in `nodes`).
    static func cluster(
        _ nodes: [SchedulingNode], flavorNames: [String], flavorNumber: NameTable
    ) -> (flavors: [FlavorCapacity], totals: [Double], nodeRef: [String: NodeRef], refAt: [NodeRef?]) {
        let flavorCount = flavorNames.count
        let byID = nodes.indices.sorted { nodes[$0].id < nodes[$1].id }
        var ready = Array(repeating: [(id: String, zone: String, free: ResourceVector)](), count: flavorCount)
        var nodeRef = [String: NodeRef](minimumCapacity: nodes.count)
        var refAt = [NodeRef?](repeating: nil, count: nodes.count)
        var capacityGPUs = Array(repeating: 0, count: flavorCount)
        var totals = Array(repeating: 0.0, count: flavorCount + 2)
        for i in byID {
            let node = nodes[i]
            let flavor = flavorNumber.number(node.flavor)!
            if let first = nodeRef[node.id] {  // ids are unique; a repeat is ignored (and found as the first)
                refAt[i] = first
                continue
            }
            var local = -1
            if node.state == .ready {
                capacityGPUs[flavor] = max(capacityGPUs[flavor], node.capacity.gpus)
                local = ready[flavor].count
                let free = node.free
                ready[flavor].append(
                    (node.id, node.zone, ResourceVector(gpus: max(0, free.gpus), cpu: max(0, free.cpu), memoryGiB: max(0, free.memoryGiB))))
            }
            nodeRef[node.id] = NodeRef(flavor: flavor, local: local, lost: node.state == .lost)
            refAt[i] = nodeRef[node.id]
            if node.state != .lost {
                totals[flavor] += Double(max(0, node.capacity.gpus))
                totals[flavorCount] += Double(max(0, node.capacity.cpu))
                totals[flavorCount + 1] += Double(max(0, node.capacity.memoryGiB))
            }
        }
        let flavors = flavorNames.indices.map { FlavorCapacity(name: flavorNames[$0], nodes: ready[$0], capacityGPUs: capacityGPUs[$0]) }
        return (flavors, totals, nodeRef, refAt)
    }

    /// Tenants in name order, with weights, cohorts and quotas (flavors without nodes are dropped).
    static func tenants(
        _ policy: SchedulingPolicy, flavorNumber: NameTable, flavorCount: Int
    ) -> (names: [String], weights: [Double], cohortNames: [String], cohortOf: [Int], nominal: [Int], borrowingLimit: [Int]) {
        let names = policy.tenants.keys.sorted()
        let cohortNames = Array(Set(names.compactMap { policy.tenants[$0]!.cohort })).sorted()
        let cohortNumber = NameTable(cohortNames)
        var nominal = Array(repeating: 0, count: names.count * flavorCount)
        var borrowingLimit = nominal
        for (t, name) in names.enumerated() {
            for (flavorName, quota) in policy.tenants[name]!.quotas {
                guard let f = flavorNumber.number(flavorName) else { continue }
                nominal[t * flavorCount + f] = max(0, quota.nominal)
                borrowingLimit[t * flavorCount + f] = max(0, quota.borrowingLimit)
            }
        }
        return (
            names, names.map { policy.tenants[$0]!.weight }, cohortNames,
            names.map { name in policy.tenants[name]!.cohort.flatMap { cohortNumber.number($0) } ?? -1 }, nominal, borrowingLimit
        )
    }

    /// What tenants hold (running replicas, except those on lost nodes): fair-share usage and quota
    /// used, from the sums ``HeldJobs`` keeps per tenant and flavor (O(tenants × flavors), however
    /// many jobs run).
    static func holdings(
        _ held: HeldJobs, tenantNumber: NameTable, quotaUnits: [QuotaUnit], tenantCount: Int
    ) -> (usage: [Double], quotaUsed: [Int]) {
        let flavorCount = quotaUnits.count
        let resourceCount = flavorCount + 2
        var usage = Array(repeating: 0.0, count: tenantCount * resourceCount)
        var quotaUsed = Array(repeating: 0, count: tenantCount * flavorCount)
        for (h, name) in held.tenantNames.enumerated() {
            guard let t = tenantNumber.number(name) else { continue }
            for slot in 0..<held.flavorSlots {
                let holding = held.holdings[h * held.flavorSlots + slot]
                let flavor = slot - 1  // slot 0: flavors the cluster does not have (cores and memory still count)
                if flavor >= 0 {
                    usage[t * resourceCount + flavor] += Double(holding.gpus)
                    quotaUsed[t * flavorCount + flavor] += quotaUnits[flavor] == .gpu ? holding.gpus : holding.cpu
                }
                usage[t * resourceCount + flavorCount] += Double(holding.cpu)
                usage[t * resourceCount + flavorCount + 1] += Double(holding.memoryGiB)
            }
        }
        return (usage, quotaUsed)
    }

    /// For backfill: adds to `releases[f]` when each running job of flavor `f` frees which of its
    /// ready nodes. Done once per flavor, the first time a job of it needs a reservation (the
    /// projection sorts the releases by time, so their order does not matter).
    mutating func addHeldReleases(flavor f: Int) {
        guard !heldReleasesAdded[f] else { return }
        heldReleasesAdded[f] = true
        held.jobs.withUnsafeBufferPointer { jobs in
            for job in jobs where Int(job.flavor) == f && !job.releaseNodes.isEmpty {
                releases[f].append(
                    Release(end: job.end, need: job.perReplica, firstNode: Int32(releaseNodes[f].count), nodeCount: Int32(job.releaseNodes.count)))
                releaseNodes[f].append(contentsOf: job.releaseNodes)
            }
        }
    }

    /// Where a job stands in its (class, tenant) queue.
    struct QueueKey: Comparable {
        var group: UInt32
        /// Within the unknown tenants' group: highest class first.
        var rank: UInt32
        var job: Int32
        var submitted: Double
        var idHigh: UInt64
        var idLow: UInt64

        static func < (a: QueueKey, b: QueueKey) -> Bool {
            if a.group != b.group { return a.group < b.group }
            if a.rank != b.rank { return a.rank < b.rank }
            if a.submitted != b.submitted { return a.submitted < b.submitted }
            if a.idHigh != b.idHigh { return a.idHigh < b.idHigh }
            return a.idLow < b.idLow
        }
    }

    /// The pending jobs' numbers, effective classes and queues. One sequential pass over the pending
    /// set, a counting sort into (class, tenant) groups, then a sort of each group's flat keys (submit
    /// time, then id): nothing compares through indexes scattered over the pending array.
    /// `groupStart[g]..<groupStart[g + 1]` is group g (`class * tenantCount + tenant`) in `order`; the
    /// last group holds the jobs of unknown tenants.
    static func queues(
        _ pending: [PendingJob], policy: SchedulingPolicy, tenantNumber: NameTable, tenantCount: Int, flavorNumber: NameTable,
        quotaUnits: [QuotaUnit]
    ) -> (jobTenant: [Int32], jobFlavor: [Int32], jobClass: [UInt8], order: [Int32], demands: [Demand], groupStart: [Int]) {
        let count = pending.count
        let now = policy.now.timeIntervalSince1970
        var jobTenant = [Int32](repeating: -1, count: count)
        var jobFlavor = [Int32](repeating: -1, count: count)
        var jobClass = [UInt8](repeating: 0, count: count)
        let classCount = SchedulingClass.allCases.count
        let groups = classCount * tenantCount
        var groupSize = Array(repeating: 0, count: groups + 1)
        let interval = policy.agingInterval.flatMap { $0 > 0 ? $0 : nil }
        var lastTenant: (name: String, number: Int32) = ("", -1)
        var keys: [QueueKey] = []
        keys.reserveCapacity(count)
        var demandOfJob: [Demand] = []
        demandOfJob.reserveCapacity(count)
        let unitsAreGPUs = quotaUnits.map { $0 == .gpu }
        let clamp = { (value: Int) in Int32(min(max(value, 0), Int(Int32.max))) }
        for (i, job) in pending.enumerated() {
            var level = job.priorityClass.rawValue
            let submitted = job.submittedAt.timeIntervalSince1970
            if let interval {
                let waited = now - submitted
                if waited >= interval { level += Int(min(waited / interval, Double(classCount))) }
            }
            level = min(level, SchedulingClass.critical.rawValue)
            jobClass[i] = UInt8(level)
            if job.tenant != lastTenant.name { lastTenant = (job.tenant, Int32(tenantNumber.number(job.tenant) ?? -1)) }
            jobTenant[i] = lastTenant.number
            let f = flavorNumber.number(job.flavor) ?? -1
            jobFlavor[i] = Int32(f)
            let known = lastTenant.number >= 0
            let group = known ? level * tenantCount + Int(lastTenant.number) : groups
            groupSize[group] += 1
            let (high, low) = sortKey(job.id)
            keys.append(
                QueueKey(
                    group: UInt32(group), rank: UInt32(known ? 0 : classCount - 1 - level), job: Int32(i), submitted: submitted,
                    idHigh: high, idLow: low))
            let replicas = max(1, min(job.replicas, Int(Int32.max)))
            let each = job.perReplica
            let unitsEach = f < 0 ? 0 : unitsAreGPUs[f] ? max(0, each.gpus) : max(0, each.cpu)
            demandOfJob.append(
                Demand(
                    gpus: clamp(each.gpus), cpu: clamp(each.cpu), memoryGiB: clamp(each.memoryGiB), replicas: Int32(replicas),
                    flavor: Int32(f), units: clamp(replicas * unitsEach), sameZone: job.sameZone,
                    ends: now + Double(job.maxRuntimeSeconds)))
        }
        var groupStart = Array(repeating: 0, count: groups + 2)
        for g in 0...groups { groupStart[g + 1] = groupStart[g] + groupSize[g] }
        var grouped = keys
        var fill = groupStart
        for key in keys {
            grouped[fill[Int(key.group)]] = key
            fill[Int(key.group)] += 1
        }
        keys = []
        for g in 0...groups where groupSize[g] > 1 { grouped[groupStart[g]..<groupStart[g + 1]].sort() }
        let order = grouped.map(\.job)
        let demands = grouped.map { demandOfJob[Int($0.job)] }
        return (jobTenant, jobFlavor, jobClass, order, demands, groupStart)
    }

    /// A UUID as two integers that order like its bytes (and so like its string).
    static func sortKey(_ id: UUID) -> (UInt64, UInt64) {
        withUnsafeBytes(of: id.uuid) { bytes in
            (
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        }
    }
}
