import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// The scheduler's consumer: turns `job.admitted` into a pending job and `job.finished` into freed
/// capacity, then wakes the decision loop. Decisions themselves are made by `SchedulingLoop`.
public struct SchedulerHandler: MessageHandler {
    public static let workerName = "scheduler"

    public init() {}

    public static func inputQueue(_ topology: Topology) -> InputQueue {
        // A quorum queue without priority: the round orders jobs by class itself, and a quorum
        // queue costs the broker a fraction of a classic priority queue per message.
        InputQueue(name: topology.queueName(workerName), bindings: ["job.admitted", "job.finished"], type: .quorum)
    }

    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        try handleBatch([event], context: context)
    }

    /// A batch costs one insert for its new jobs, one release per finished job, and one wake-up.
    public func handleBatch(_ events: [EventEnvelope], context: HandlerContext) throws {
        var admitted: [AdmittedJob] = []
        var finished: [UUID] = []
        var outcomes: [String] = []
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
            default:
                continue
            }
        }
        guard !admitted.isEmpty || !finished.isEmpty else { return }
        // Pending jobs first: a job admitted and finished within one batch then ends finished.
        try SchedulerStore.insertPending(admitted, in: context.db)
        let now = Date()
        try SchedulerStore.release(finished, outcomes: outcomes, now: now, in: context.db)
        try SchedulerStore.wake(context.db)
    }
}
