import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// The health checker's consumer: once a job is requeued, the stalls recorded for its earlier
/// attempts are settled (the next attempt's runs are watched afresh). Stalls of jobs that ended
/// are cleared by `HealthMonitor` (consuming every job.finished would cost a transaction each).
public struct HealthEventsHandler: MessageHandler {
    public init() {}

    public static func inputQueue(_ topology: Topology) -> InputQueue {
        InputQueue(name: topology.queueName(HealthMonitor.workerName), bindings: ["job.requeued"], type: .quorum)
    }

    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        guard case .string(let text)? = event.payload["job_id"], let jobID = UUID(uuidString: text) else {
            throw MalformedMessage("\(event.type) payload needs job_id")
        }
        try context.db.query("DELETE FROM health_stalls WHERE job_id = $1", [jobID])
    }
}
