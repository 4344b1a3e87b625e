extension VictimSelection {
    /// The decision's one-line explanations, and the counts behind "no eligible jobs".
    ///
    /// - `fits in the free capacity: 2 × 8 GPUs of gpu-v100; nothing to stop`
    /// - `waiting for 1 job already being preempted (j9): it frees enough for 8 GPUs of gpu-v100`
    /// - `stop 2 jobs for 2 × 8 GPUs of gpu-v100, losing $1.20 of work: j1 (low, lower class, 2880
    ///   GPU-seconds, $0.80), j2 (high, reclaims borrowed quota, 1440 GPU-seconds, $0.40)`, with
    ///   `; counting 1 job already being preempted` when some are
    /// - `no eligible jobs: of 3 running gpu-v100 jobs, 2 are not below class high, 1 has not run its
    ///   minimum runtime` (also: `run only on nodes that cannot take it`, `already being preempted`,
    ///   `no running gpu-v100 jobs`, `no ready gpu-v100 nodes`, and why borrowing jobs do not count)
    /// - `even stopping every eligible job frees too little: needs 3 × 8 GPUs of gpu-v100; stopping all
    ///   2 eligible jobs leaves room for 2`
    struct Explainer {
        let request: PreemptionRequest
        let need: Resources
        let replicas: Int
        /// Jobs of the flavor already being preempted, by id.
        var preempting: [String] = []
        /// Not below the preemptor's class and not reclaimable.
        var notLower = 0
        /// ... of which borrowing (not reclaimable: the preemptor's tenant is not under nominal, or same tenant).
        var notLowerBorrowing = 0
        /// ... of which borrowing and of the preemptor's own tenant.
        var notLowerOwnBorrowing = 0
        /// Eligible by class but under their minimum runtime.
        var tooYoung = 0
        /// Eligible, but with no replica on a placeable node of the flavor.
        var elsewhere = 0

        init(request: PreemptionRequest, need: Resources, replicas: Int) {
            self.request = request
            self.need = need
            self.replicas = replicas
        }

        /// `2 × 8 GPUs of gpu-v100` (`in one zone` for a same-zone gang; cores for CPU-only replicas).
        var gang: String {
            var text = replicas > 1 ? String(replicas) + " × " : ""
            text += need.gpus > 0 ? plural(need.gpus, "GPU") : plural(need.cpu, "core")
            text += " of " + request.flavor
            if request.sameZone && replicas > 1 { text += " in one zone" }
            return text
        }

        func fitsWithoutPreemption() -> String { "fits in the free capacity: " + gang + "; nothing to stop" }

        func waiting() -> String {
            "waiting for " + plural(preempting.count, "job") + " already being preempted (" + preempting.joined(separator: ", ") + "): "
                + (preempting.count == 1 ? "it frees" : "they free") + " enough for " + gang
        }

        func preempt(_ victims: [Victim]) -> String {
            let lost = victims.reduce(0) { $0 + $1.workLost.money }
            var text = "stop " + plural(victims.count, "job") + " for " + gang + ", losing " + money(lost) + " of work: "
            text += victims.map { victim in
                let reason = switch victim.reason {
                case .lowerPriority: "lower class"
                case .reclaimBorrowed: "reclaims borrowed quota"
                case .overBudget: "its tenant is over budget"
                }
                let unitSeconds =
                    String(Int(victim.workLost.unitSeconds.rounded())) + (victim.workLost.unit == .gpu ? " GPU-seconds" : " core-seconds")
                return victim.jobID + " (" + victim.priorityClass.name + ", " + reason + ", " + unitSeconds + ", "
                    + money(victim.workLost.money) + ")"
            }.joined(separator: ", ")
            if !preempting.isEmpty { text += "; counting " + plural(preempting.count, "job") + " already being preempted" }
            return text
        }

        func noEligibleJobs(placeableNodes: Int) -> String {
            guard placeableNodes > 0 else { return "no eligible jobs: no ready " + request.flavor + " nodes" }
            let total = preempting.count + notLower + tooYoung + elsewhere
            guard total > 0 else { return "no eligible jobs: no running " + request.flavor + " jobs" }
            var parts: [String] = []
            if notLower > 0 {
                var part = String(notLower) + (notLower == 1 ? " is" : " are") + " not below class " + request.priorityClass.name
                let otherBorrowing = notLowerBorrowing - notLowerOwnBorrowing
                if otherBorrowing > 0 && !request.tenantUnderNominal {
                    part +=
                        " (" + String(otherBorrowing) + " borrowing, but tenant " + request.tenant
                        + " is not under its nominal quota, so it cannot reclaim)"
                } else if notLowerOwnBorrowing > 0 && request.tenantUnderNominal {
                    part += " (" + String(notLowerOwnBorrowing) + " borrowing, but of tenant " + request.tenant + " itself)"
                }
                parts.append(part)
            }
            if tooYoung > 0 { parts.append(String(tooYoung) + (tooYoung == 1 ? " has" : " have") + " not run its minimum runtime") }
            if elsewhere > 0 {
                parts.append(String(elsewhere) + (elsewhere == 1 ? " runs" : " run") + " only on nodes that cannot take it")
            }
            if !preempting.isEmpty {
                parts.append(String(preempting.count) + (preempting.count == 1 ? " is" : " are") + " already being preempted")
            }
            return "no eligible jobs: of " + plural(total, "running " + request.flavor + " job") + ", " + parts.joined(separator: ", ")
        }

        func tooLittleFreed(candidates: Int, room: Int) -> String {
            var text = "even stopping every eligible job frees too little: needs " + gang + "; stopping "
            text += candidates == 1 ? "the 1 eligible job" : "all " + String(candidates) + " eligible jobs"
            if !preempting.isEmpty { text += " and the " + plural(preempting.count, "job") + " already being preempted" }
            text += " leaves room for " + String(room)
            return text
        }
    }

    static func plural(_ count: Int, _ noun: String) -> String { String(count) + " " + noun + (count == 1 ? "" : "s") }

    /// `$1234.50`: two places, rounded half away from zero, no grouping (as in the admission messages).
    static func money(_ amount: Double) -> String {
        guard amount.isFinite else { return "$" + String(amount) }
        let cents = (abs(amount) * 100).rounded()
        guard cents < 9e15 else { return "$" + String(amount) }
        let whole = Int(cents)
        let fraction = whole % 100
        return (amount < 0 && whole > 0 ? "-$" : "$") + String(whole / 100) + "." + (fraction < 10 ? "0" : "") + String(fraction)
    }
}
