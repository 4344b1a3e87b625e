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
        InputQueue(name: topology.queueName(workerName), bindings: ["job.admitted", "job.finished"], maxPriority: 4)
    }

    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        switch event.type {
        case "job.admitted":
            var job: AdmittedJob
            do {
                job = try event.payload.decode(AdmittedJob.self)
            } catch {
                throw MalformedMessage("job.admitted payload: \(error)")
            }
            job.tenant = event.tenant ?? ""
            try SchedulerStore.insertPending(job, in: context.db)
        case "job.finished":
            guard case .string(let text)? = event.payload["job_id"], let jobID = UUID(uuidString: text) else {
                throw MalformedMessage("job.finished payload needs job_id")
            }
            _ = try SchedulerStore.release(jobID: jobID, now: Date(), in: context.db)
        default:
            return
        }
        try SchedulerStore.wake(context.db)
    }
}
