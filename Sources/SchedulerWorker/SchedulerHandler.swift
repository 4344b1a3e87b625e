import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// The scheduler's consumer: turns `job.admitted` into a pending job, `job.finished` into freed
/// capacity and a node agent's `node.registered` into a node, then wakes the decision loop. Decisions themselves are made by `SchedulingLoop`.
public struct SchedulerHandler: MessageHandler {
    public static let workerName = "scheduler"

    public init() {}

    public static func inputQueue(_ topology: Topology) -> InputQueue {
        // A quorum queue without priority: the round orders jobs by class itself, and a quorum
        // queue costs the broker a fraction of a classic priority queue per message.
        InputQueue(name: topology.queueName(workerName), bindings: ["job.admitted", "job.finished", "node.registered"], type: .quorum)
    }

    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        try handleBatch([event], context: context)
    }

    /// A batch costs one insert for its new jobs, one release per finished job, and one wake-up.
    public func handleBatch(_ events: [EventEnvelope], context: HandlerContext) throws {
        var admitted: [AdmittedJob] = []
        var finished: [UUID] = []
        var outcomes: [String] = []
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
                finished.append(jobID)
                // Older senders give no outcome; they only ever reported success.
                if case .string(let outcome)? = event.payload["outcome"] { outcomes.append(outcome) } else { outcomes.append("succeeded") }
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
        guard !admitted.isEmpty || !finished.isEmpty || nodesChanged else { return }
        // Pending jobs first: a job admitted and finished within one batch then ends finished.
        try SchedulerStore.insertPending(admitted, in: context.db)
        let now = Date()
        try SchedulerStore.release(finished, outcomes: outcomes, now: now, in: context.db)
        try SchedulerStore.wake(context.db)
    }
}
