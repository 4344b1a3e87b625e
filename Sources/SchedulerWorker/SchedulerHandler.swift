import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// The scheduler's consumer: turns `job.admitted` into a pending job, `job.finished` into freed
/// capacity (or, for a failure its retry policy retries, a requeue: `AttemptSettlement`), a node
/// agent's `node.registered` into a node, and the health checker's `node.lost` / `job.stalled`
/// into requeues of the jobs affected, and the cost accountant's `budget.exceeded` /
/// `budget.restored` into holds (`BudgetHold`); then wakes the decision loop. Decisions themselves are made by `SchedulingLoop`.
public struct SchedulerHandler: MessageHandler {
    public static let workerName = "scheduler"

    public init() {}

    /// The scheduler's two input queues, each with its own consumer thread. Admissions come alone,
    /// so a new job reaches the pending set without waiting behind a batch of job ends (a thousand
    /// a second under load, each a release); everything else comes on the second. Both are
    /// quorum queues without priority (the round orders jobs by class itself, and a quorum queue
    /// costs the broker a fraction of a classic priority queue per message), and share one
    /// dead-letter queue, `<prefix>.scheduler.dead`.
    public static func inputQueues(_ topology: Topology) -> [InputQueue] {
        let name = topology.queueName(workerName)
        return [
            // Before this layout `name` took admissions too: declaring this queue unbinds them there.
            InputQueue(name: "\(name).admitted", bindings: ["job.admitted"], type: .quorum, deadLettersOf: name, takesBindingsFrom: name),
            InputQueue(
                name: name,
                bindings: [
                    "job.finished", "node.registered", "node.lost", "node.recovered", "job.stalled", "job.rollback_requested",
                    "budget.exceeded", "budget.restored",
                ], type: .quorum),
        ]
    }

    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        try handleBatch([event], context: context)
    }

    /// A job admitted (its `sched_jobs` row, inserted `ON CONFLICT DO NOTHING`) and an ordinary end
    /// (the state set to finished, allocations released only where still open) come to the same
    /// thing applied twice: the job's row is their deduplication record, and the two inbox rows
    /// every job would cost are saved. The rest (requeues, node changes, holds) emit events or
    /// count attempts, and keep theirs.
    public func needsInbox(_ event: EventEnvelope) -> Bool {
        switch event.type {
        case "job.admitted": return false
        case "job.finished": return !Self.isOrdinaryEnd(event)
        default: return true
        }
    }

    /// A `job.finished` whose outcome no retry policy acts on (success, cancellation, …).
    static func isOrdinaryEnd(_ event: EventEnvelope) -> Bool {
        guard case .string(let outcome)? = event.payload["outcome"] else { return true }  // older senders: success
        return RetryRule.category(of: outcome) == nil
    }

    /// A batch costs one round trip for its new jobs, its ordinary ends and the wake-up.
    public func handleBatch(_ events: [EventEnvelope], context: HandlerContext) throws {
        var admitted: [AdmittedJob] = []
        var finished: [UUID] = []
        var outcomes: [String] = []
        var attempts: [Int?] = []
        var settlements: [(AttemptSettlement.Ending, String?)] = []
        var nodesChanged = false
        for (index, event) in events.enumerated() {
            switch event.type {
            case "job.admitted":
                do {
                    admitted.append(try AdmittedJob(payload: event.payload, tenant: event.tenant ?? ""))
                } catch {
                    throw MessageFailure(index: index, error: MalformedMessage("job.admitted payload: \(error)"))
                }
            case "job.finished":
                guard case .string(let text)? = event.payload["job_id"], let jobID = UUID(uuidString: text) else {
                    throw MessageFailure(index: index, error: MalformedMessage("job.finished payload needs job_id"))
                }
                // Older senders give no outcome; they only ever reported success.
                var outcome = "succeeded"
                if case .string(let text)? = event.payload["outcome"] { outcome = text }
                let attempt = event.payload["attempt"]?.integerValue
                if Self.isOrdinaryEnd(event) {
                    finished.append(jobID)  // an ordinary end: released in one statement with the batch's others
                    outcomes.append(outcome)
                    attempts.append(attempt)
                } else {
                    var reason: String?
                    if case .string(let text)? = event.payload["reason"] { reason = text }
                    settlements.append((.init(jobID: jobID, attempt: attempt, outcome: outcome, reason: reason), event.tenant))
                }
            case "job.stalled":
                guard case .string(let text)? = event.payload["job_id"], let jobID = UUID(uuidString: text),
                    let attempt = event.payload["attempt"]?.integerValue
                else {
                    throw MessageFailure(index: index, error: MalformedMessage("job.stalled payload needs job_id and attempt"))
                }
                var reason = "no progress reported"
                if case .string(let text)? = event.payload["reason"] { reason = text }
                settlements.append((.init(jobID: jobID, attempt: attempt, outcome: "stalled", reason: reason), event.tenant))
            case "job.rollback_requested":
                do {
                    try RollbackStart.handle(event, producer: Self.workerName, now: Date(), in: context)
                } catch let error as MalformedMessage {
                    throw MessageFailure(index: index, error: error)
                }
            case "node.lost", "node.recovered":
                guard case .string(let node)? = event.payload["node"] else {
                    throw MessageFailure(index: index, error: MalformedMessage("\(event.type) payload needs node"))
                }
                if event.type == "node.recovered" {
                    try context.db.query("UPDATE nodes SET state = 'ready', updated_at = now() WHERE id = $1 AND state = 'lost'", [node])
                } else {
                    // A round in flight (it holds the leader row) may be placing work on this node:
                    // wait for it, so its allocations are among those settled below.
                    try context.db.query("SELECT 1 FROM scheduler_leader FOR SHARE")
                    try context.db.query("UPDATE nodes SET state = 'lost', updated_at = now() WHERE id = $1", [node])
                    // Every job with a replica there: that attempt is lost.
                    for row in try context.db.query(
                        """
                        SELECT DISTINCT j.job_id, j.attempt FROM allocations a JOIN sched_jobs j ON j.job_id = a.job_id
                        WHERE a.node_id = $1 AND a.released_at IS NULL AND j.state = 'scheduled' ORDER BY j.job_id
                        """, [node])
                    {
                        settlements.append(
                            (.init(jobID: try row.decode(0), attempt: try row.decode(1), outcome: "node_lost", reason: "node \(node) was lost"), nil))
                    }
                }
                nodesChanged = true
            case "budget.exceeded", "budget.restored":
                guard case .string(let tenant)? = event.payload["tenant"] ?? event.tenant.map(JSONValue.string) else {
                    throw MessageFailure(index: index, error: MalformedMessage("\(event.type) needs a tenant"))
                }
                var policy = "stop"
                if case .string(let text)? = event.payload["policy"] { policy = text }
                guard policy == "stop" || policy == "downgrade" else {
                    throw MessageFailure(index: index, error: MalformedMessage("\(event.type) policy must be stop or downgrade, got \(policy)"))
                }
                let nodes = try BudgetHold.apply(
                    tenant: tenant, exceeded: event.type == "budget.exceeded", policy: policy, version: event.payload["version"]?.integerValue ?? 0,
                    in: context.db)
                // The nodes its running jobs hold stop them at their next checkpoint.
                for copy in try OutboxMessage.placementCopies(of: event, nodes: nodes, topology: context.topology) { try context.send(copy) }
                nodesChanged = true  // wake a round: held jobs wait, released ones may be placed
            case "node.registered":
                let node: NodeRegistration.Node
                do { node = try NodeRegistration.Node(payload: event.payload) } catch { throw MessageFailure(index: index, error: error) }
                if let reason = try NodeRegistration.apply(node, in: context.db) {
                    try context.emit(
                        EventEnvelope(
                            type: "node.rejected", producer: Self.workerName, subjects: ["node": node.id], correlationID: event.id,
                            payload: ["node": .string(node.id), "reason": .string(reason)]))
                } else {
                    nodesChanged = true
                }
            default:
                continue
            }
        }
        guard !admitted.isEmpty || !finished.isEmpty || !settlements.isEmpty || nodesChanged else { return }
        // One round trip for the common work: new pending jobs first (a job admitted and finished
        // within one batch then ends finished), the release, and the wake-up (delivered at commit).
        let now = Date()
        let insert = [SchedulerStore.insertPending(admitted)].compactMap { $0 }
        let release = finished.isEmpty ? [] : SchedulerStore.releaseStatements(finished, outcomes: outcomes, attempts: attempts, now: now)
        let results = try context.db.pipeline(insert + release + [SchedulerStore.wakeStatement])
        if !finished.isEmpty {
            // The release's first statement: the jobs' rows it set finished.
            try SchedulerStore.finishUnknown(finished, outcomes: outcomes, updated: results[insert.count], now: now, in: context.db)
        }
        // One lock order for every replica (job ids ascending), as `release` takes its locks.
        for (ending, tenant) in settlements.sorted(by: { $0.0.jobID.uuidString < $1.0.jobID.uuidString }) {
            switch try AttemptSettlement.settle(ending, tenant: tenant, producer: Self.workerName, now: now, in: context.db) {
            case .stale: continue
            case .ended(nil, _): continue
            case .ended(let event?, let nodes), .requeued(let event, let nodes):
                try context.emit(event)
                // The job's nodes stop what still runs of the old attempt (fencing), or of the job.
                for copy in try OutboxMessage.placementCopies(of: event, nodes: nodes, topology: context.topology) { try context.send(copy) }
            }
        }
    }
}
