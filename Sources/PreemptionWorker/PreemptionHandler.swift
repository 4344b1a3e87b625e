import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// The preemption worker's consumer: a `job.pending` short of capacity or quota is looked at at
/// once (the decider's loop looks again later).
public struct PreemptionHandler: MessageHandler {
    let decider: PreemptionDecider

    public init(decider: PreemptionDecider) {
        self.decider = decider
    }

    public static func inputQueue(_ topology: Topology) -> InputQueue {
        InputQueue(name: topology.queueName(PreemptionDecider.workerName), bindings: ["job.pending"], type: .quorum)
    }

    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        guard case .string(let code)? = event.payload["code"], code == "capacity" || code == "quota" else { return }
        guard case .string(let text)? = event.payload["job_id"], let jobID = UUID(uuidString: text) else {
            throw MalformedMessage("job.pending payload needs job_id")
        }
        let (events, messages) = try decider.evaluate(jobID: jobID, in: context.db)
        for event in events { try context.emit(event) }
        for message in messages { try context.send(message) }
    }
}
