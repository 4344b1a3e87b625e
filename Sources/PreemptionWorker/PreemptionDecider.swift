import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres
import Preemption

/// Decides preemptions for jobs the scheduler cannot place (`VictimSelection`, pure) and asks
/// for them: each victim gets a `job.preemption_requested` event naming the preemptor, the reason
/// (`lower_priority` or `reclaim_borrowed`) and the work it loses, sent to the event log and
/// through the placements exchange to the victim's nodes, whose agents stop its runs (SIGTERM,
/// SIGKILL after the grace period). Its end (`job.finished`, outcome `preempted`) makes the
/// scheduler requeue it; the freed capacity goes to the preemptor. Decisions are serialized
/// across replicas by an advisory lock; a victim is asked once per attempt (`preemptions`).
public struct PreemptionDecider: Sendable {
    public static let workerName = "preemption"
    let settings: PreemptionSettings
    let topology: Topology
    let logger: Logger

    public init(settings: PreemptionSettings, topology: Topology, logger: Logger) {
        self.settings = settings
        self.topology = topology
        self.logger = logger
    }

    /// Looks at one waiting job (`jobID`), or at the first waiting jobs by class.
    public func evaluate(jobID: UUID?, now: Date = Date(), in db: PostgresConnection) throws -> (events: [EventEnvelope], messages: [OutboxMessage]) {
        try db.query("SELECT pg_advisory_xact_lock(hashtextextended('agentmgr-preemption', 0))")
        var events: [EventEnvelope] = []
        var messages: [OutboxMessage] = []
        for waiting in try PreemptionStore.waiting(jobID: jobID, limit: jobID == nil ? 10 : 1, in: db) {
            let flavor = waiting.request.flavor
            let running = try PreemptionStore.running(flavor: flavor, in: db)
            let nominal = try PreemptionStore.nominal(flavor: flavor, in: db)
            let usage = Dictionary(running.map { ($0.job.tenant, $0.units) }, uniquingKeysWith: +)
            var request = waiting.request
            let unit = try PreemptionStore.quotaUnit(flavor: flavor, in: db)
            let units = (unit == "gpu" ? request.perReplica.gpus : request.perReplica.cpu) * request.replicas
            request.tenantUnderNominal = usage[request.tenant, default: 0] + units <= nominal[request.tenant, default: 0]
            let jobs = running.map { item -> Preemption.RunningJob in
                var job = item.job
                job.borrowing = usage[job.tenant, default: 0] > nominal[job.tenant, default: 0]
                return job
            }
            let decision = VictimSelection.choose(
                for: request, nodes: try PreemptionStore.nodes(flavor: flavor, in: db), running: jobs,
                alreadyPreempting: try PreemptionStore.preempting(in: db),
                policy: PreemptionPolicy(minimumRuntimeSeconds: settings.minimumRuntimeSeconds, now: now.timeIntervalSince1970))
            guard decision.outcome == .preempt else { continue }
            logger.info("preempting", metadata: ["preemptor": "\(waiting.jobID)", "decision": "\(decision.explanation)"])
            let attempts = Dictionary(running.map { ($0.job.id, ($0.attempt, $0.job.nodes)) }, uniquingKeysWith: { first, _ in first })
            for victim in decision.victims {
                guard let (attempt, nodes) = attempts[victim.jobID], let victimID = UUID(uuidString: victim.jobID) else { continue }
                let reason = switch victim.reason {
                case .lowerPriority: "lower_priority"
                case .reclaimBorrowed: "reclaim_borrowed"
                case .overBudget: "over_budget"
                }
                let inserted = try db.query(
                    """
                    INSERT INTO preemptions (victim_job_id, victim_attempt, preemptor_job_id, reason, work_lost)
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
                    """, [victimID, attempt, waiting.jobID, reason, victim.workLost.money]
                ).rowsAffected
                guard inserted == 1 else { continue }
                let event = EventEnvelope(
                    type: "job.preemption_requested", producer: Self.workerName, tenant: victim.tenant,
                    subjects: ["job": victim.jobID, "preemptor": waiting.request.id], correlationID: victimID,
                    payload: [
                        "job_id": .string(victim.jobID), "attempt": .number(Double(attempt)), "preemptor_job_id": .string(waiting.request.id),
                        "preemptor_class": .string(waiting.request.priorityClass.name), "preemptor_tenant": .string(waiting.tenant),
                        "reason": .string(reason), "victim_class": .string(victim.priorityClass.name),
                        "work_lost": .number((victim.workLost.money * 10_000).rounded() / 10_000),
                        "work_lost_unit_seconds": .number(victim.workLost.unitSeconds.rounded()),
                        "nodes": .array(nodes.map(JSONValue.string)), "decision": .string(decision.explanation),
                    ])
                events.append(event)
                messages += try OutboxMessage.placementCopies(of: event, nodes: nodes, topology: topology)
            }
        }
        return (events, messages)
    }

    /// Waiting jobs are looked at again every `interval` (a victim's minimum runtime passes, a
    /// preemption in flight did not free enough, capacity changed).
    public func task(pool: PostgresPool) -> BackgroundTask {
        BackgroundTask(name: "preemption") { [self] stop in
            while !stop.isRequested {
                do {
                    try pool.transaction { db in
                        let (events, messages) = try evaluate(jobID: nil, in: db)
                        try EventRecorder.append(events.map { ($0, nil) }, messages: messages, topology: topology, in: db)
                    }
                } catch {
                    logger.warning("preemption round failed", metadata: ["error": "\(error)"])
                }
                stop.sleep(settings.interval)
            }
        }
    }
}
