import Foundation

/// Deciding jobs one by one in order of service, and the backfill reservation.
extension SchedulingRound {
    // MARK: Stepping

    /// Decides jobs in order of service until one is placed, and returns that placement; nil when
    /// every job has been decided.
    public mutating func nextPlacement() -> Placement? {
        let tenantCount = tenantNames.count
        while !finished {
            if let tenant = heap.popMin() {
                let group = currentClass * tenantCount + tenant
                while true {
                    let position = cursor[group]
                    cursor[group] += 1
                    let placement = decide(at: position, tenant: tenant)
                    let more = cursor[group] < groupEnd[group]
                    // A job that waits leaves the share as it was: while the tenant still comes first,
                    // serve it again without a round trip through the heap.
                    if placement == nil && more && heap.precedesAll(tenant, share: share[tenant]) { continue }
                    if more { heap.push(tenant, share: share[tenant]) }
                    if let placement { return placement }
                    break
                }
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

    mutating func wait(_ job: Int, _ code: PendingReason.Code) {
        waitingJobs.append(Int32(job))
        waitingCodes.append(code)
    }

    /// Decides the job at `position` in `order`.
    mutating func decide(at position: Int, tenant t: Int) -> Placement? {
        let job = Int(order[position])
        let demand = demands[position]
        let f = Int(demand.flavor)
        guard f >= 0, hasReadyNodes[f] else {
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
    mutating func considerReservation(for job: Int, flavor f: Int, need: ResourceVector, replicas: Int, sameZone: Bool) {
        switch reservations[f] {
        case .reserved:
            return
        case .unreachable:
            // In place: a copy of a flavor's capacity is O(its nodes).
            guard finalCapacity[f]!.canPlace(need, replicas: replicas, sameZone: sameZone) else { return }
        case .none:
            break
        }
        addHeldReleases(flavor: f)
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
            if let nodes = projection.choose(need, replicas: replicas, sameZone: sameZone, constrained: false).nodes {
                // What the gang's nodes keep free at that time, once it has taken its replicas, is their slack.
                var slack = [Int: ResourceVector]()
                for node in nodes { slack[node] = (slack[node] ?? projection.free[node]) - need }
                flavors[f].slack = slack
                reservations[f] = .reserved(Reservation(job: job, start: max(time, nowSeconds)))
                return
            }
        }
        finalCapacity[f] = projection
        reservations[f] = .unreachable
    }
}
