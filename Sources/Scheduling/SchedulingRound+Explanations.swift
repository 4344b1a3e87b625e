import Foundation

extension SchedulingRound {
    /// Decides whatever is left of the round and explains every job left pending, in order of service.
    ///
    /// Explanations describe the state at the end of the round (what a person asking "why" sees); the
    /// code is the one found when the job's turn came (quota and capacity only shrink during a round,
    /// so the end state still explains it). O(pending): jobs waiting for the same reason share one
    /// template (message up to the "jobs ahead" part, and the details), built once; each job adds
    /// only its own count of jobs ahead.
    public mutating func finish() -> SchedulingResult {
        while nextPlacement() != nil {}
        var explainer = Explainer(round: self)
        var ahead = [Int](repeating: 0, count: SchedulingClass.allCases.count)
        var statuses: [PendingStatus] = []
        statuses.reserveCapacity(waitingJobs.count)
        for (k, job32) in waitingJobs.enumerated() {
            let job = Int(job32)
            let level = Int(jobClass[job])
            let aheadCount = ahead[level]
            ahead[level] += 1
            let template = explainer.template(job: job, code: waitingCodes[k])
            var message = template.message
            if template.saysAhead {
                message.reserveCapacity(template.message.utf8.count + 40)
                message += "; "
                message += String(aheadCount)
                message += aheadCount == 1 ? " job ahead in class " : " jobs ahead in class "
                message += Self.className[level]
            }
            var details = template.details
            details["ahead"] = aheadCount
            statuses.append(
                PendingStatus(
                    jobID: jobs[job].id, reason: PendingReason(code: template.code, message: message, details: details), queuePosition: k + 1,
                    effectiveClass: SchedulingClass(rawValue: level)!))
        }
        return SchedulingResult(placements: placements, pending: statuses)
    }

    /// Class names without reflection (`SchedulingClass.name` goes through `String(describing:)`).
    static let className = SchedulingClass.allCases.sorted().map(\.name)

    static func plural(_ count: Int, _ noun: String) -> String { String(count) + " " + noun + (count == 1 ? "" : "s") }

    /// A reason shared by the jobs waiting for the same thing: everything but the jobs ahead.
    struct ReasonTemplate {
        var code: PendingReason.Code
        var message: String
        /// Whether "; N jobs ahead in class C" follows the message.
        var saysAhead: Bool
        /// With an "ahead" entry (0) already there, so setting it never grows the dictionary.
        var details: [String: Int]
    }

    /// What makes two waiting jobs' reasons the same.
    struct ReasonKey: Hashable {
        var code: PendingReason.Code
        var flavor: Int
        var tenant = -1
        /// Quota: units needed. Capacity: GPUs (or cores) per replica.
        var amount = 0
        var replicas = 0
        var sameZone = false
        var blockedHead = false
    }

    /// Builds (once per distinct reason) and hands out reason templates, from the end-of-round state.
    struct Explainer {
        struct GangShape: Hashable {
            var flavor: Int
            var need: ResourceVector
            var replicas: Int
            var sameZone: Bool
        }

        let round: SchedulingRound
        var templates: [ReasonKey: ReasonTemplate] = [:]
        var gangFitsAtStart: [GangShape: Bool] = [:]
        /// Per flavor: the reservation's start (ISO text, Unix seconds) and blocked job.
        var reservedText: [String?]
        var reservedStart: [Int]
        var blockedHead: [Int]

        init(round: SchedulingRound) {
            self.round = round
            reservedText = Array(repeating: nil, count: round.flavorCount)
            reservedStart = Array(repeating: 0, count: round.flavorCount)
            blockedHead = Array(repeating: -1, count: round.flavorCount)
            for (f, state) in round.reservations.enumerated() {
                guard case .reserved(let r) = state else { continue }
                reservedText[f] = ISOTime.string(secondsSince1970: r.start)
                reservedStart[f] = Int(r.start.rounded(.up))
                blockedHead[f] = r.job
            }
        }

        mutating func template(job: Int, code: PendingReason.Code) -> ReasonTemplate {
            let spec = round.jobs[job]
            switch code {
            case .unknownTenant:
                return ReasonTemplate(
                    code: .unknownTenant, message: "tenant " + spec.tenant + " is not in the scheduling policy", saysAhead: false,
                    details: ["ahead": 0])
            case .noNodes:
                return ReasonTemplate(code: .noNodes, message: "no ready " + spec.flavor + " nodes", saysAhead: false, details: ["ahead": 0])
            case .quota:
                let f = Int(round.jobFlavor[job])
                let key = ReasonKey(code: .quota, flavor: f, tenant: Int(round.jobTenant[job]), amount: round.quotaUnits(of: spec, flavor: f))
                if let known = templates[key] { return known }
                let made = quotaTemplate(key)
                templates[key] = made
                return made
            case .reserved:
                let key = ReasonKey(code: .reserved, flavor: Int(round.jobFlavor[job]))
                if let known = templates[key] { return known }
                let made = reservedTemplate(key)
                templates[key] = made
                return made
            case .capacity, .queued:
                let f = Int(round.jobFlavor[job])
                let need = ResourceVector(
                    gpus: max(0, spec.perReplica.gpus), cpu: max(0, spec.perReplica.cpu), memoryGiB: max(0, spec.perReplica.memoryGiB))
                let replicas = max(1, spec.replicas)
                let queued = fitsAtStart(need, replicas: replicas, sameZone: spec.sameZone, flavor: f)
                let key = ReasonKey(
                    code: queued ? .queued : .capacity, flavor: f, amount: need.gpus > 0 ? need.gpus : need.cpu, replicas: replicas,
                    sameZone: spec.sameZone && replicas > 1, blockedHead: blockedHead[f] == job)
                if let known = templates[key] { return known }
                let made = capacityTemplate(key, need: need)
                templates[key] = made
                return made
            }
        }

        /// Whether the job would have fit the capacity free when the round began (then it is `queued`:
        /// higher-ranked jobs took that capacity).
        private mutating func fitsAtStart(_ need: ResourceVector, replicas: Int, sameZone: Bool, flavor f: Int) -> Bool {
            if replicas == 1 { return round.startFlavors[f].all.bestFit(need) { _ in true } != nil }
            let shape = GangShape(flavor: f, need: need, replicas: replicas, sameZone: sameZone)
            if let known = gangFitsAtStart[shape] { return known }
            let fits = round.startFlavors[f].canPlace(need, replicas: replicas, sameZone: sameZone)
            gangFitsAtStart[shape] = fits
            return fits
        }

        private func quotaTemplate(_ key: ReasonKey) -> ReasonTemplate {
            let (t, f, needed) = (key.tenant, key.flavor, key.amount)
            let q = t * round.flavorCount + f
            let (ceiling, lendable) = round.quotaCeiling(tenant: t, flavor: f)
            let used = round.quotaUsed[q]
            let nominal = round.nominal[q]
            let limit = round.borrowingLimit[q]
            let unit = round.quotaUnits[f] == .gpu ? "GPUs" : "cores"
            var message = "tenant \(round.tenantNames[t]) at quota for \(round.flavorNames[f]) (\(used)/\(ceiling) \(unit) used, nominal \(nominal)"
            if used < ceiling { message += ", needs \(needed)" }
            message += ")"
            if round.cohortOf[t] >= 0 {
                message += "; cohort \(round.cohortNames[round.cohortOf[t]]) can lend \(lendable)"
                if limit < lendable { message += ", borrowing limit \(limit)" }
            } else {
                message += "; no cohort to borrow from"
            }
            return ReasonTemplate(
                code: .quota, message: message, saysAhead: true,
                details: ["used": used, "nominal": nominal, "lendable": lendable, "borrowingLimit": limit, "needed": needed, "ahead": 0])
        }

        private func reservedTemplate(_ key: ReasonKey) -> ReasonTemplate {
            let f = key.flavor
            // The whole id: ids are time-ordered (version 7), so a prefix names every job of the same minute.
            let head = round.jobs[blockedHead[f]].id.uuidString.lowercased()
            return ReasonTemplate(
                code: .reserved, message: "waiting for capacity reserved for job \(head) (starts by \(reservedText[f]!))", saysAhead: false,
                details: ["startsBy": reservedStart[f], "ahead": 0])
        }

        private func capacityTemplate(_ key: ReasonKey, need: ResourceVector) -> ReasonTemplate {
            let f = key.flavor
            let flavor = round.flavors[f]
            let replicas = key.replicas
            let byGPU = need.gpus > 0
            var message = "needs "
            if replicas > 1 { message += "\(replicas) × " }
            message += SchedulingRound.plural(key.amount, byGPU ? "GPU" : "core") + " of " + flavor.name
            if replicas > 1 { message += key.sameZone ? " in one zone" : " all at once" }
            if key.code == .queued { message += "; higher-ranked jobs took the free capacity this round" }
            let (largest, nodes) = byGPU ? flavor.all.largestFreeGPUs() : flavor.all.largestFreeCores()
            if largest == 0 {
                message += byGPU ? "; no node has a free GPU" : "; no node has a free core"
            } else {
                message += "; largest free: \(SchedulingRound.plural(nodes, "node")) with \(SchedulingRound.plural(largest, byGPU ? "GPU" : "core")) free"
                // When the count of free GPUs (or the biggest node's cores) would do, say what falls short.
                if byGPU {
                    let enough = flavor.all.gpuReplicaBound(need) >= replicas
                    if key.sameZone && flavor.zones.count > 1 {
                        if flavor.zones.contains(where: { $0.gpuReplicaBound(need) >= replicas }) {
                            message += ", but too few cores or too little memory with them"
                        } else if enough {
                            message += ", but not enough in any one zone"
                        }
                    } else if enough {
                        message += ", but too few cores or too little memory with them"
                    }
                } else if replicas == 1 && largest >= need.cpu {
                    message += ", but too little memory with them"
                }
            }
            var details = ["replicas": replicas, "perReplica": key.amount, "largestFree": largest, "nodesWithLargestFree": nodes, "ahead": 0]
            if key.blockedHead {
                message += "; reserved to start by " + reservedText[f]!
                details["startsBy"] = reservedStart[f]
            }
            return ReasonTemplate(code: key.code, message: message, saysAhead: true, details: details)
        }
    }
}
