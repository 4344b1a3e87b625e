import Foundation

extension SchedulingRound {
    /// Decides whatever is left of the round and explains every job left pending, in order of service.
    /// Explanations describe the state at the end of the round (what a person asking "why" sees);
    /// the code is the one found when the job's turn came. O(pending): the numbers behind each
    /// message are kept current during the round or cached per flavor here.
    public mutating func finish() -> SchedulingResult {
        while nextPlacement() != nil {}
        // Per flavor, computed once: the reservation's words, the largest free node.
        var reservedText = [String?](repeating: nil, count: flavorCount)
        var reservedMessage = [String?](repeating: nil, count: flavorCount)
        var reservedStart = [Int](repeating: 0, count: flavorCount)
        var blockedHead = [Int](repeating: -1, count: flavorCount)
        for (f, state) in reservations.enumerated() {
            guard case .reserved(let r) = state else { continue }
            let time = ISOTime.string(secondsSince1970: r.start)
            let prefix = String(jobs[r.job].id.uuidString.prefix(8)).lowercased()
            reservedText[f] = time
            reservedMessage[f] = "waiting for capacity reserved for job \(prefix) (starts by \(time))"
            reservedStart[f] = Int(r.start.rounded(.up))
            blockedHead[f] = r.job
        }
        var largestByGPU = [(text: String, amount: Int, nodes: Int)?](repeating: nil, count: flavorCount)
        var largestByCore = largestByGPU
        var gangFitsAtStart: [GangShape: Bool] = [:]
        var ahead = [Int](repeating: 0, count: SchedulingClass.allCases.count)
        var statuses: [PendingStatus] = []
        statuses.reserveCapacity(waitingJobs.count)
        for (k, job32) in waitingJobs.enumerated() {
            let job = Int(job32)
            let level = Int(jobClass[job])
            let effective = SchedulingClass(rawValue: level)!
            let aheadCount = ahead[level]
            ahead[level] += 1
            var aheadText = String(aheadCount)
            aheadText += aheadCount == 1 ? " job ahead in class " : " jobs ahead in class "
            aheadText += Self.className[level]
            let spec = jobs[job]
            let reason: PendingReason
            switch waitingCodes[k] {
            case .unknownTenant:
                reason = PendingReason(
                    code: .unknownTenant, message: "tenant " + spec.tenant + " is not in the scheduling policy", details: ["ahead": aheadCount])
            case .noNodes:
                reason = PendingReason(code: .noNodes, message: "no ready " + spec.flavor + " nodes", details: ["ahead": aheadCount])
            case .quota:
                reason = quotaReason(job, aheadCount: aheadCount, aheadText: aheadText)
            case .reserved:
                let f = Int(jobFlavor[job])
                reason = PendingReason(code: .reserved, message: reservedMessage[f]!, details: ["startsBy": reservedStart[f], "ahead": aheadCount])
            case .capacity, .queued:
                let f = Int(jobFlavor[job])
                let need = ResourceVector(gpus: max(0, spec.perReplica.gpus), cpu: max(0, spec.perReplica.cpu), memoryGiB: max(0, spec.perReplica.memoryGiB))
                let replicas = max(1, spec.replicas)
                let queued: Bool
                if replicas == 1 {
                    queued = startFlavors[f].all.bestFit(need) { _ in true } != nil
                } else {
                    let shape = GangShape(flavor: f, need: need, replicas: replicas, sameZone: spec.sameZone)
                    if let known = gangFitsAtStart[shape] {
                        queued = known
                    } else {
                        queued = startFlavors[f].canPlace(need, replicas: replicas, sameZone: spec.sameZone)
                        gangFitsAtStart[shape] = queued
                    }
                }
                let largest: (text: String, amount: Int, nodes: Int)
                if need.gpus > 0 {
                    if largestByGPU[f] == nil {
                        let (gpus, nodes) = flavors[f].all.largestFreeGPUs()
                        let text = gpus == 0 ? "; no node has a free GPU" : "; largest free: \(Self.plural(nodes, "node")) with \(Self.plural(gpus, "GPU")) free"
                        largestByGPU[f] = (text, gpus, nodes)
                    }
                    largest = largestByGPU[f]!
                } else {
                    if largestByCore[f] == nil {
                        let (cores, nodes) = flavors[f].all.largestFreeCores()
                        let text = cores == 0 ? "; no node has a free core" : "; largest free: \(Self.plural(nodes, "node")) with \(Self.plural(cores, "core")) free"
                        largestByCore[f] = (text, cores, nodes)
                    }
                    largest = largestByCore[f]!
                }
                let head = blockedHead[f] == job
                reason = capacityReason(
                    job, need: need, replicas: replicas, queued: queued, largest: largest,
                    reserved: head ? (reservedText[f]!, reservedStart[f]) : nil, aheadCount: aheadCount, aheadText: aheadText)
            }
            statuses.append(PendingStatus(jobID: spec.id, reason: reason, queuePosition: k + 1, effectiveClass: effective))
        }
        return SchedulingResult(placements: placements, pending: statuses)
    }

    /// Class names without reflection (`SchedulingClass.name` goes through `String(describing:)`).
    static let className = SchedulingClass.allCases.sorted().map(\.name)

    struct GangShape: Hashable {
        var flavor: Int
        var need: ResourceVector
        var replicas: Int
        var sameZone: Bool
    }

    private func quotaReason(_ job: Int, aheadCount: Int, aheadText: String) -> PendingReason {
        let t = Int(jobTenant[job])
        let f = Int(jobFlavor[job])
        let q = t * flavorCount + f
        let (ceiling, lendable) = quotaCeiling(tenant: t, flavor: f)
        let needed = quotaUnits(of: jobs[job], flavor: f)
        let used = quotaUsed[q]
        var message = "tenant "
        message += tenantNames[t]
        message += " at quota for "
        message += flavorNames[f]
        message += " ("
        message += String(used)
        message += "/"
        message += String(ceiling)
        message += quotaUnits[f] == .gpu ? " GPUs used, nominal " : " cores used, nominal "
        message += String(nominal[q])
        if used < ceiling { message += ", needs " + String(needed) }
        message += ")"
        if cohortOf[t] >= 0 {
            message += "; cohort "
            message += cohortNames[cohortOf[t]]
            message += " can lend "
            message += String(lendable)
            if borrowingLimit[q] < lendable { message += ", borrowing limit " + String(borrowingLimit[q]) }
        } else {
            message += "; no cohort to borrow from"
        }
        message += "; " + aheadText
        return PendingReason(
            code: .quota, message: message,
            details: [
                "used": used, "nominal": nominal[q], "lendable": lendable, "borrowingLimit": borrowingLimit[q], "needed": needed,
                "ahead": aheadCount,
            ])
    }

    private func capacityReason(
        _ job: Int, need: ResourceVector, replicas: Int, queued: Bool, largest: (text: String, amount: Int, nodes: Int),
        reserved: (text: String, start: Int)?, aheadCount: Int, aheadText: String
    ) -> PendingReason {
        let spec = jobs[job]
        let f = Int(jobFlavor[job])
        let byGPU = need.gpus > 0
        let each = byGPU ? need.gpus : need.cpu
        var message = "needs "
        if replicas > 1 { message += String(replicas) + " × " }
        message += Self.plural(each, byGPU ? "GPU" : "core")
        message += " of "
        message += flavorNames[f]
        if replicas > 1 { message += spec.sameZone ? " in one zone" : " all at once" }
        if queued { message += "; higher-ranked jobs took the free capacity this round" }
        message += largest.text
        if largest.amount > 0 {
            // When the count of free GPUs (or the biggest node's cores) would do, say what falls short.
            if byGPU {
                let enough = flavors[f].all.gpuReplicaBound(need) >= replicas
                if spec.sameZone && replicas > 1 && flavors[f].zones.count > 1 {
                    if flavors[f].zones.contains(where: { $0.gpuReplicaBound(need) >= replicas }) {
                        message += ", but too few cores or too little memory with them"
                    } else if enough {
                        message += ", but not enough in any one zone"
                    }
                } else if enough {
                    message += ", but too few cores or too little memory with them"
                }
            } else if replicas == 1 && largest.amount >= need.cpu {
                message += ", but too little memory with them"
            }
        }
        if let reserved { message += "; reserved to start by " + reserved.text }
        message += "; "
        message += aheadText
        let code: PendingReason.Code = queued ? .queued : .capacity
        if let reserved {
            return PendingReason(
                code: code, message: message,
                details: [
                    "replicas": replicas, "perReplica": each, "largestFree": largest.amount, "nodesWithLargestFree": largest.nodes,
                    "ahead": aheadCount, "startsBy": reserved.start,
                ])
        }
        return PendingReason(
            code: code, message: message,
            details: ["replicas": replicas, "perReplica": each, "largestFree": largest.amount, "nodesWithLargestFree": largest.nodes, "ahead": aheadCount])
    }

    static func plural(_ count: Int, _ noun: String) -> String { String(count) + " " + noun + (count == 1 ? "" : "s") }
}
