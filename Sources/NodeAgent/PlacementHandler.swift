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
    /// stops what still runs of the job here; `job.rollback_requested` (agentctl jobs rollback)
    /// stops them and starts a new attempt from the chosen checkpoint.
    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        if event.type == "job.rollback_requested" {
            try rollback(event, context: context)
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
        var attempt = 0
        if event.type == "job.stage_advanced" {
            guard let number = event.payload["stage"]?.integerValue, number >= 1 else {
                throw MalformedMessage("job.stage_advanced payload needs stage (an integer ≥ 1)")
            }
            stage = number
            attempt = event.payload["attempt"]?.integerValue ?? 0  // absent from senders before rollback existed
        }
        guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText) else {
            throw MalformedMessage("\(event.type) payload needs job_id")
        }
        let nodes = try Self.nodes(of: event)
        let ranks = nodes.indices.filter { nodes[$0] == nodeID }
        guard !ranks.isEmpty else { return }  // not ours (a misrouted copy)
        try RunStore.insertStarting(jobID: jobID, nodes: nodes, ranks: ranks, node: nodeID, stage: stage, attempt: attempt, in: context.db)
    }

    /// The job's runs here before the new attempt stop; the new attempt's runs of the
    /// checkpoint's stage start once they have, resuming from that checkpoint.
    private func rollback(_ event: EventEnvelope, context: HandlerContext) throws {
        guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText) else {
            throw MalformedMessage("job.rollback_requested payload needs job_id")
        }
        guard let attempt = event.payload["attempt"]?.integerValue, attempt >= 1,
            let stage = event.payload["stage"]?.integerValue, stage >= 0,
            let step = event.payload["step"]?.integerValue, case .string(let uri)? = event.payload["uri"]
        else {
            throw MalformedMessage("job.rollback_requested payload needs attempt (≥ 1), stage (≥ 0), step and uri")
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
