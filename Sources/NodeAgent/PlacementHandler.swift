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

    public init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// Every node gets its own copy of a placement, with the same message id: the inbox must be
    /// per node, not per worker kind.
    public static func consumerName(nodeID: String) -> String { "\(workerName)/\(nodeID)" }

    public static func inputQueue(_ topology: Topology, nodeID: String) -> InputQueue {
        InputQueue(name: topology.queueName("node-agent.\(nodeID)"), bindings: [nodeID], source: .placements)
    }

    /// `job.scheduled` starts a job's first stage; `job.stage_advanced` (from the node agent of
    /// its rank 0) the next stage of its curriculum, on the same nodes; `job.finished` (likewise)
    /// stops what still runs of the job here.
    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        if event.type == "job.finished" {
            // Rank 0 ended the job: this node's replicas of it stop too (capacity is being freed).
            guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText) else {
                throw MalformedMessage("job.finished payload needs job_id")
            }
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
        if event.type == "job.stage_advanced" {
            guard let number = event.payload["stage"]?.integerValue, number >= 1 else {
                throw MalformedMessage("job.stage_advanced payload needs stage (an integer ≥ 1)")
            }
            stage = number
        }
        guard case .string(let jobText)? = event.payload["job_id"], let jobID = UUID(uuidString: jobText) else {
            throw MalformedMessage("\(event.type) payload needs job_id")
        }
        guard case .array(let values)? = event.payload["nodes"], !values.isEmpty else {
            throw MalformedMessage("\(event.type) payload needs nodes (one per replica)")
        }
        let nodes = try values.map { value -> String in
            guard case .string(let node) = value else { throw MalformedMessage("\(event.type) nodes must be strings") }
            return node
        }
        let ranks = nodes.indices.filter { nodes[$0] == nodeID }
        guard !ranks.isEmpty else { return }  // not ours (a misrouted copy)
        try RunStore.insertStarting(jobID: jobID, nodes: nodes, ranks: ranks, node: nodeID, stage: stage, in: context.db)
    }
}
