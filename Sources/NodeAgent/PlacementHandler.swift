import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// The node agent's consumer: each `job.scheduled` copy routed to this node (placements exchange,
/// key = node id) becomes one `starting` run per rank placed here, in the consumer's
/// transaction. The `Supervisor` launches them after commit, so a redelivered placement (inbox)
/// never starts a replica twice.
public struct PlacementHandler: MessageHandler {
    public static let workerName = "node-agent"
    let nodeID: String
    let stopHint: StopRequestHint

    /// `stopHint`: shared with this agent's `Supervisor`, poked when stop requests are recorded.
    public init(nodeID: String, stopHint: StopRequestHint = StopRequestHint()) {
        self.nodeID = nodeID
        self.stopHint = stopHint
    }

    /// Every node gets its own copy of a placement, with the same message id: the inbox must be
    /// per node, not per worker kind.
    public static func consumerName(nodeID: String) -> String { "\(workerName)/\(nodeID)" }

    public static func inputQueue(_ topology: Topology, nodeID: String) -> InputQueue {
        InputQueue(name: topology.queueName("node-agent.\(nodeID)"), bindings: [nodeID], source: .placements)
    }

    /// `job.scheduled` starts a job's first stage; `job.stage_advanced` (from the node agent of
    /// its rank 0) the next stage of its curriculum, on the same nodes; `job.finished` (likewise)
    /// stops what still runs of the job here; `job.rolled_back` (the scheduler, after agentctl jobs
    /// rollback) stops them and starts the new attempt from the chosen checkpoint;
    /// `budget.exceeded` (the cost accountant) stops the tenant's jobs at their next checkpoint.
    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        if event.type == "job.rolled_back" {
            try rollback(event, context: context)
            return
        }
        if event.type == "job.requeued" || event.type == "job.preemption_requested" || event.type == "job.failed" {
            try stopAttempt(event, context: context)
            return
        }
        if event.type == "budget.exceeded" {
            try stopOverBudget(event, context: context)
            return
        }
        if event.type == "job.finished" {
            // Rank 0 ended the job: this node's replicas of it stop too (capacity is being freed).
            guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText) else {
                throw MalformedMessage("job.finished payload needs job_id")
            }
            stopHint.poke()
            for run in try RunStore.requestStop(jobID: jobID, node: nodeID, in: context.db) {
                try context.emit(
                    EventEnvelope(
                        type: "run.finished", producer: Self.workerName, tenant: event.tenant,
                        subjects: ["job": jobText.lowercased(), "run": run.runID.uuidString.lowercased(), "node": nodeID], correlationID: jobID,
                        payload: [
                            "job_id": .string(jobText.lowercased()), "run_id": .string(run.runID.uuidString.lowercased()),
                            "rank": .number(Double(run.rank)), "outcome": "stopped_with_job",
                            "reason": "the job ended before this replica started",
                        ]))
            }
            return
        }
        guard event.type == "job.scheduled" || event.type == "job.stage_advanced" else { return }
        var stage = 0
        let attempt = event.payload["attempt"]?.integerValue ?? 0  // absent from senders before retries existed
        if event.type == "job.stage_advanced" {
            guard let number = event.payload["stage"]?.integerValue, number >= 1 else {
                throw MalformedMessage("job.stage_advanced payload needs stage (an integer ≥ 1)")
            }
            stage = number
        }
        guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText) else {
            throw MalformedMessage("\(event.type) payload needs job_id")
        }
        let nodes = try Self.nodes(of: event)
        let ranks = nodes.indices.filter { nodes[$0] == nodeID }
        guard !ranks.isEmpty else { return }  // not ours (a misrouted copy)
        if event.type == "job.scheduled", attempt > 0 {
            // Placed again after a requeue: the curriculum goes on from the stage of the newest checkpoint.
            stage = try RunStore.resumeStage(jobID: jobID, in: context.db)
        }
        try RunStore.insertStarting(jobID: jobID, nodes: nodes, ranks: ranks, node: nodeID, stage: stage, attempt: attempt, in: context.db)
    }

    /// The job's runs here before the new attempt stop; the new attempt's runs of the
    /// checkpoint's stage start once they have, resuming from that checkpoint.
    private func rollback(_ event: EventEnvelope, context: HandlerContext) throws {
        guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText) else {
            throw MalformedMessage("job.rolled_back payload needs job_id")
        }
        guard let attempt = event.payload["attempt"]?.integerValue, attempt >= 1,
            let stage = event.payload["stage"]?.integerValue, stage >= 0,
            let step = event.payload["step"]?.integerValue, case .string(let uri)? = event.payload["uri"]
        else {
            throw MalformedMessage("job.rolled_back payload needs attempt (≥ 1), stage (≥ 0), step and uri")
        }
        let nodes = try Self.nodes(of: event)
        let ranks = nodes.indices.filter { nodes[$0] == nodeID }
        guard !ranks.isEmpty else { return }
        stopHint.poke()
        for run in try RunStore.requestRollback(jobID: jobID, node: nodeID, before: attempt, step: Int64(step), in: context.db) {
            try context.emit(
                EventEnvelope(
                    type: "run.finished", producer: Self.workerName, tenant: event.tenant,
                    subjects: ["job": jobText.lowercased(), "run": run.runID.uuidString.lowercased(), "node": nodeID], correlationID: jobID,
                    payload: [
                        "job_id": .string(jobText.lowercased()), "run_id": .string(run.runID.uuidString.lowercased()),
                        "rank": .number(Double(run.rank)), "outcome": "rolled_back", "reason": "rolled back before it started",
                    ]))
        }
        try RunStore.insertStarting(
            jobID: jobID, nodes: nodes, ranks: ranks, node: nodeID, stage: stage, attempt: attempt, resumeFrom: Supervisor.path(ofFileURI: uri),
            in: context.db)
    }

    /// `job.requeued` (the scheduler moved the job to its next attempt: what still runs of earlier
    /// attempts here stops, ending with the requeue's reason) or `job.preemption_requested` (the
    /// preemption worker: this attempt's runs stop, SIGTERM now, and end `preempted`).
    private func stopAttempt(_ event: EventEnvelope, context: HandlerContext) throws {
        guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText),
            let attempt = event.payload["attempt"]?.integerValue ?? (event.type == "job.failed" ? 0 : nil), attempt >= 0
        else {
            throw MalformedMessage("\(event.type) payload needs job_id and attempt")
        }
        let preemption = event.type == "job.preemption_requested"
        var reason = "preempted"
        var attempts = attempt...attempt
        if event.type == "job.failed" {
            // The scheduler ended the job (a stall or a lost node with no attempts left): all of it stops.
            guard case .string(let outcome)? = event.payload["outcome"] else { throw MalformedMessage("job.failed payload needs outcome") }
            reason = outcome
            attempts = 0...Int(Int32.max)
        } else if !preemption {
            guard case .string(let text)? = event.payload["reason"], attempt >= 1 else {
                throw MalformedMessage("job.requeued payload needs reason and attempt ≥ 1")
            }
            // Older attempts stop at once, whatever ended the last one: a budget requeue (when a
            // rank was refused at launch) must not wait here for another checkpoint.
            reason = text == "budget_exceeded" ? "requeued" : text
            attempts = 0...(attempt - 1)
        }
        stopHint.poke()
        let stopped = try RunStore.requestStop(jobID: jobID, node: nodeID, attempts: attempts, reason: reason, in: context.db)
        for run in stopped {
            // A preempted rank 0 that never started still ends the attempt: the scheduler requeues on it.
            let endsAttempt = preemption && run.rank == 0
            try context.emit(
                EventEnvelope(
                    type: endsAttempt ? "job.finished" : "run.finished", producer: Self.workerName, tenant: event.tenant,
                    subjects: ["job": jobText.lowercased(), "run": run.runID.uuidString.lowercased(), "node": nodeID], correlationID: jobID,
                    payload: [
                        "job_id": .string(jobText.lowercased()), "run_id": .string(run.runID.uuidString.lowercased()),
                        "rank": .number(Double(run.rank)), "outcome": .string(reason), "reason": "stopped before it started",
                        "attempt": .number(Double(attempt)),
                    ]))
        }
    }

    /// `budget.exceeded` (the cost accountant, policy `stop`): the tenant's jobs here stop after
    /// their next checkpoint and end `budget_exceeded`; runs not yet started end at once.
    private func stopOverBudget(_ event: EventEnvelope, context: HandlerContext) throws {
        guard case .string(let tenant)? = event.payload["tenant"] ?? event.tenant.map(JSONValue.string) else {
            throw MalformedMessage("budget.exceeded needs a tenant")
        }
        guard event.payload["policy"] == nil || event.payload["policy"] == .string("stop") else { return }  // downgrade: the scheduler's
        stopHint.poke()
        for run in try RunStore.requestBudgetStop(tenant: tenant, node: nodeID, in: context.db) {
            let job = run.jobID.uuidString.lowercased()
            try context.emit(
                EventEnvelope(
                    type: run.rank == 0 ? "job.finished" : "run.finished", producer: Self.workerName, tenant: tenant,
                    subjects: ["job": job, "run": run.runID.uuidString.lowercased(), "node": nodeID], correlationID: run.jobID,
                    payload: [
                        "job_id": .string(job), "run_id": .string(run.runID.uuidString.lowercased()), "rank": .number(Double(run.rank)),
                        "outcome": "budget_exceeded", "reason": .string("tenant \(tenant) has spent its budget; stopped before it started"),
                        "attempt": .number(Double(run.attempt)),
                    ]))
        }
    }

    private static func nodes(of event: EventEnvelope) throws -> [String] {
        guard case .array(let values)? = event.payload["nodes"], !values.isEmpty else {
            throw MalformedMessage("\(event.type) payload needs nodes (one per replica)")
        }
        return try values.map { value -> String in
            guard case .string(let node) = value else { throw MalformedMessage("\(event.type) nodes must be strings") }
            return node
        }
    }
}
