/// The preemption decision: which running jobs to stop so that a job that cannot be placed fits, at
/// least cost. A pure function of (request, nodes, running jobs, jobs already being preempted,
/// policy): no I/O, no clock (the policy carries `now`), no randomness, and no dependence on the
/// order of the inputs, so a decision can be replayed from the event log.
///
/// ## Eligible jobs (candidates)
/// Only running jobs of the preemptor's flavor count (nodes have one flavor). A job is a candidate if
/// - its class is strictly lower than the preemptor's (`lowerPriority`), or the preemptor's tenant is
///   under its nominal quota (`tenantUnderNominal`) and the job, of *another* tenant, runs on
///   borrowed quota (`borrowing`), whatever its class (`reclaimBorrowed`), or its tenant spent its budget
///   and keeps running preemptible (`overBudget`, another tenant's preemptor only); a job of the preemptor's
///   own tenant is a candidate only by class;
/// - it has run its class's minimum runtime: `now - startedAt >= minimumRuntimeSeconds[class]`
///   (absent: 0);
/// - at least one of its replicas is on a placeable node of the flavor (stopping replicas on
///   cordoned, draining or lost nodes frees nothing the preemptor can use);
/// - it is not already being preempted (`alreadyPreempting`). Those jobs are never chosen again, but
///   what they will free counts as freed.
/// The preemptor itself (a running job with its id) is never a candidate.
///
/// ## Cost
/// A job's work lost is what stopping it throws away: `units × seconds`, where units are GPUs per
/// replica × replicas (cores × replicas for CPU-only replicas) and seconds run from its last
/// checkpoint, or from its start if it has none (or only one older than its start), to `now`; in
/// money, `× pricePerUnitHour / 3600`. Candidates are taken cheapest first: least money lost, then
/// lowest class, then most recently started, then job id.
///
/// ## Fit
/// The preemptor is a gang of `replicas` identical replicas, each on one placeable node of its
/// flavor (replicas may share a node), all in one zone when `sameZone`. A stopped job returns each of
/// its replicas' resources to that replica's node (never above the node's capacity). A node then
/// takes `min over gpus, cores, memory of floor(available / need)` replicas, and the gang fits iff
/// those add up to `replicas` over all nodes (over one zone's nodes when `sameZone`): exact for
/// identical replicas.
///
/// ## Choice
/// Candidates are added in cost order until the preemptor fits; if it never does, nothing is stopped
/// (`tooLittleFreed`; `noEligibleJobs` when there is no candidate at all). The chosen set is then
/// minimized: from the most expensive victim back to the cheapest, a victim whose removal still
/// leaves the preemptor fitting is dropped. No single victim of the result can be spared. Victims are
/// returned in cost order with their work lost and the reason they were eligible.
///
/// Before that: if the free capacity already takes the preemptor, nothing is stopped
/// (`fitsWithoutPreemption`); if the jobs already being preempted free enough on their own, nothing
/// more is stopped (`waitingForPreemptions`).
///
/// Replicas below 1 count as 1, resources below 0 as 0. Node ids and job ids must be unique (for a
/// repeated node id the first node counts).
public enum VictimSelection {
    public static func choose(
        for request: PreemptionRequest, nodes: [PreemptionNode], running: [RunningJob], alreadyPreempting: Set<String> = [],
        policy: PreemptionPolicy
    ) -> PreemptionDecision {
        let need = Resources(
            gpus: max(0, request.perReplica.gpus), cpu: max(0, request.perReplica.cpu), memoryGiB: max(0, request.perReplica.memoryGiB))
        let replicas = max(1, request.replicas)

        var seen = Set<String>()
        let usable = nodes.filter { $0.flavor == request.flavor && $0.placeable && seen.insert($0.id).inserted }.sorted { $0.id < $1.id }
        let local = Dictionary(uniqueKeysWithValues: usable.enumerated().map { ($1.id, $0) })
        var capacity = FreeCapacity(nodes: usable, need: need, replicas: replicas, sameZone: request.sameZone)
        var explainer = Explainer(request: request, need: need, replicas: replicas)

        if capacity.fits { return PreemptionDecision(outcome: .fitsWithoutPreemption, explanation: explainer.fitsWithoutPreemption()) }

        var candidates: [Candidate] = []
        for job in running where job.flavor == request.flavor && job.id != request.id {
            let replicaNodes = job.nodes.compactMap { local[$0] }
            let perReplica = Resources(
                gpus: max(0, job.perReplica.gpus), cpu: max(0, job.perReplica.cpu), memoryGiB: max(0, job.perReplica.memoryGiB))
            if alreadyPreempting.contains(job.id) {
                for node in replicaNodes { capacity.release(perReplica, on: node) }
                explainer.preempting.append(job.id)
                continue
            }
            guard let reason = eligibility(of: job, for: request) else {
                explainer.notLower += 1
                if job.borrowing { explainer.notLowerBorrowing += 1 }
                if job.borrowing && job.tenant == request.tenant { explainer.notLowerOwnBorrowing += 1 }
                continue
            }
            guard reason == .overBudget || policy.now - job.startedAt >= policy.minimumRuntimeSeconds[job.priorityClass] ?? 0 else {
                explainer.tooYoung += 1
                continue
            }
            guard !replicaNodes.isEmpty else {
                explainer.elsewhere += 1
                continue
            }
            candidates.append(
                Candidate(job: job, reason: reason, workLost: workLost(job, now: policy.now), perReplica: perReplica, nodes: replicaNodes))
        }
        explainer.preempting.sort()

        if !explainer.preempting.isEmpty && capacity.fits {
            return PreemptionDecision(outcome: .waitingForPreemptions, explanation: explainer.waiting())
        }
        guard !candidates.isEmpty else {
            return PreemptionDecision(outcome: .noEligibleJobs, explanation: explainer.noEligibleJobs(placeableNodes: usable.count))
        }

        candidates.sort(by: costsLess)
        var chosen: [Int] = []
        for k in candidates.indices where !capacity.fits {
            for node in candidates[k].nodes { capacity.release(candidates[k].perReplica, on: node) }
            chosen.append(k)
        }
        guard capacity.fits else {
            return PreemptionDecision(
                outcome: .tooLittleFreed, explanation: explainer.tooLittleFreed(candidates: candidates.count, room: capacity.placeable))
        }

        var kept = Array(repeating: true, count: chosen.count)
        for position in chosen.indices.reversed() {
            let candidate = candidates[chosen[position]]
            for node in candidate.nodes { capacity.release(candidate.perReplica, on: node, sign: -1) }
            if capacity.fits {
                kept[position] = false
            } else {
                for node in candidate.nodes { capacity.release(candidate.perReplica, on: node) }
            }
        }
        let victims = chosen.indices.filter { kept[$0] }.map { candidates[chosen[$0]].victim }
        return PreemptionDecision(outcome: .preempt, victims: victims, explanation: explainer.preempt(victims))
    }

    /// Why `job` may be stopped for `request`, or nil if it may not (whatever its runtime and nodes).
    public static func eligibility(of job: RunningJob, for request: PreemptionRequest) -> VictimReason? {
        if job.overBudget && job.tenant != request.tenant && !request.overBudget { return .overBudget }
        if job.priorityClass < request.priorityClass { return .lowerPriority }
        if request.tenantUnderNominal && job.borrowing && job.tenant != request.tenant { return .reclaimBorrowed }
        return nil
    }

    /// What stopping `job` at `now` throws away.
    public static func workLost(_ job: RunningJob, now: Double) -> WorkLost {
        let unit: WorkUnit = job.perReplica.gpus > 0 ? .gpu : .cpu
        let units = max(0, unit == .gpu ? job.perReplica.gpus : job.perReplica.cpu) * job.nodes.count
        let since = max(job.startedAt, job.lastCheckpointAt ?? job.startedAt)
        let seconds = max(0, now - since)
        let unitSeconds = Double(units) * seconds
        return WorkLost(
            units: units, unit: unit, seconds: seconds, unitSeconds: unitSeconds, money: unitSeconds * job.pricePerUnitHour / 3_600)
    }

    struct Candidate {
        var job: RunningJob
        var reason: VictimReason
        var workLost: WorkLost
        var perReplica: Resources
        /// Local numbers of the placeable nodes its replicas are on, one per such replica.
        var nodes: [Int]

        var victim: Victim {
            Victim(jobID: job.id, tenant: job.tenant, priorityClass: job.priorityClass, reason: reason, workLost: workLost)
        }
    }

    /// Cost order: jobs over budget first, then least money lost, lowest class, most recently started, job id.
    static func costsLess(_ a: Candidate, _ b: Candidate) -> Bool {
        if a.job.overBudget != b.job.overBudget { return a.job.overBudget }
        if a.workLost.money != b.workLost.money { return a.workLost.money < b.workLost.money }
        if a.job.priorityClass != b.job.priorityClass { return a.job.priorityClass < b.job.priorityClass }
        if a.job.startedAt != b.job.startedAt { return a.job.startedAt > b.job.startedAt }
        return a.job.id < b.job.id
    }
}
