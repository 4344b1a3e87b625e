import AgentCore
import CostAccounting
import Foundation
import Postgres

/// Applies a batch of reports to the ledger. Each run's charges are recomputed from its interval
/// (`RunMeter`) and written as values, not increments, so a report applied twice (or out of
/// order) leaves the same ledger; the tenants' spend rows get the difference between the run's
/// old and new charges, in the same transaction as the inbox record.
enum CostLedger {
    /// Returns the tenants whose spending changed, or whose budget was set (to check them).
    static func apply(_ reports: [CostReport], now: Date, in db: PostgresConnection) throws -> Set<String> {
        var runJobs: [UUID: UUID] = [:]
        var jobEnds: [UUID: (outcome: String, at: Date)] = [:]
        var tenants: Set<String> = []
        for report in reports {
            switch report {
            case .runStarted(let run, let job, _, _), .runSeen(let run, let job, _, _, _), .runEnded(let run, let job, _, _):
                runJobs[run] = job
            case .jobEnded(let job, let outcome, let at):
                if jobEnds[job] == nil { jobEnds[job] = (outcome, at) }
            case .budgetChanged(let tenant):
                tenants.insert(tenant)
            }
        }
        guard !runJobs.isEmpty || !jobEnds.isEmpty else { return tenants }
        let info = try CostStore.jobInfo(Set(runJobs.values).union(jobEnds.keys), in: db)
        let before = try CostStore.lockRuns(runJobs.map { ($0.key, $0.value) }, jobs: info, in: db)
        var runs = before
        for report in reports {
            switch report {
            case .runStarted(let id, _, let node, let at):
                runs[id]?.meter.started(at: at)
                if let node { runs[id]?.node = node }
            case .runSeen(let id, _, let node, let startedAt, let at):
                if let startedAt { runs[id]?.meter.started(at: startedAt) }
                runs[id]?.meter.seen(at: at)
                if runs[id]?.node == nil { runs[id]?.node = node }
            case .runEnded(let id, _, let outcome, let at):
                runs[id]?.meter.ended(at: at)
                if runs[id]?.outcome == nil {
                    runs[id]?.outcome = outcome
                    runs[id]?.meter.lost = outcome == "lost"
                }
            case .jobEnded, .budgetChanged:
                continue
            }
        }

        var changed: [CostStore.MeteredRun] = []
        var ledger: [(run: CostStore.MeteredRun, charge: DayCharge)] = []
        var jobMetered: [UUID: Decimal] = [:]
        var spend: [CostStore.SpendKey: (metered: Decimal, released: Decimal)] = [:]
        func addSpend(_ tenant: String, _ period: String, metered: Decimal = 0, released: Decimal = 0) {
            let key = CostStore.SpendKey(tenant: tenant, period: period)
            let current = spend[key] ?? (0, 0)
            spend[key] = (current.metered + metered, current.released + released)
        }
        for (id, old) in before {
            guard var run = runs[id], run.meter != old.meter || run.node != old.node || run.outcome != old.outcome else { continue }
            let oldCharges = old.meter.charges(ratePerHour: old.ratePerHour)
            let newCharges = run.meter.charges(ratePerHour: run.ratePerHour)
            run.seconds = newCharges.reduce(0) { $0 + $1.seconds }
            run.cost = newCharges.reduce(0) { $0 + $1.cost }
            changed.append(run)
            let newDays = Set(newCharges.map(\.day))
            ledger += newCharges.map { (run, $0) }
            ledger += oldCharges.filter { !newDays.contains($0.day) }.map { (run, DayCharge(day: $0.day, seconds: 0, cost: 0)) }
            for charge in newCharges { addSpend(run.tenant, charge.month, metered: charge.cost) }
            for charge in oldCharges { addSpend(run.tenant, charge.month, metered: -charge.cost) }
            let delta = run.cost - old.cost
            addSpend(run.tenant, "total", metered: delta)
            if delta != 0 { jobMetered[run.jobID, default: 0] += delta }
            tenants.insert(run.tenant)
        }
        try CostStore.saveRuns(changed, now: now, in: db)
        try CostStore.setLedger(ledger, in: db)

        // Reservations: released as metered cost replaces them, wholly once the job ended.
        let jobIDs = Set(jobMetered.keys).union(jobEnds.keys)
        var jobs: [CostStore.ReservedJob] = []
        for (id, var job) in try CostStore.lockJobs(jobIDs, jobs: info, in: db) {
            let old = job
            job.metered += jobMetered[id] ?? 0
            if let end = jobEnds[id], job.endedAt == nil {
                job.endedAt = end.at
                job.outcome = end.outcome
            }
            job.released = job.releasable
            guard job.metered != old.metered || job.released != old.released || job.endedAt != old.endedAt else { continue }
            jobs.append(job)
            let released = job.released - old.released
            addSpend(job.tenant, job.reservedPeriod, released: released)
            addSpend(job.tenant, "total", released: released)
            tenants.insert(job.tenant)
        }
        try CostStore.saveJobs(jobs, in: db)
        try CostStore.addSpend(spend, in: db)
        return tenants
    }
}
