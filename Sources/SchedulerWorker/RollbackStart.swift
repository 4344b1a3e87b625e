import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// `job.rollback_requested` (agentctl jobs rollback): the scheduler, which counts a job's attempts,
/// starts the next one on the job's current nodes (the allocation stays) and tells those nodes
/// with `job.rolled_back`; a job that is not running any more gets `job.rollback_refused`.
enum RollbackStart {
    static func handle(_ event: EventEnvelope, producer: String, now: Date, in context: HandlerContext) throws {
        guard case .string(let text)? = event.payload["job_id"], let jobID = UUID(uuidString: text),
            let stage = event.payload["stage"]?.integerValue, let step = event.payload["step"]?.integerValue,
            case .string(let uri)? = event.payload["uri"]
        else {
            throw MalformedMessage("job.rollback_requested payload needs job_id, stage, step and uri")
        }
        let job = jobID.lowercaseText
        let db = context.db
        let row = try db.query("SELECT state, attempt FROM sched_jobs WHERE job_id = $1 FOR UPDATE", [jobID]).first
        guard let row, try row.decode(0, as: String.self) == "scheduled" else {
            try context.emit(
                EventEnvelope(
                    type: "job.rollback_refused", producer: producer, tenant: event.tenant, subjects: ["job": job], correlationID: jobID,
                    payload: ["job_id": .string(job), "reason": "the job is not running any more"]))
            return
        }
        let attempt = try row.decode(1, as: Int.self)
        let nodes = try SchedulerStore.openNodes(of: jobID, in: db)
        var reason: String?
        if case .string(let text)? = event.payload["reason"] { reason = text }
        try db.query(
            """
            INSERT INTO job_attempts (job_id, attempt, nodes, outcome, reason, retried, ended_at)
            VALUES ($1, $2, $3::text[], 'rolled_back', $4, true, $5) ON CONFLICT (job_id, attempt) DO NOTHING
            """, [jobID, attempt, nodes, reason ?? "rolled back to step \(step)", now])
        try db.query("UPDATE sched_jobs SET attempt = attempt + 1, updated_at = $2 WHERE job_id = $1", [jobID, now])
        var payload: [String: JSONValue] = [
            "job_id": .string(job), "attempt": .number(Double(attempt + 1)), "stage": .number(Double(stage)),
            "step": .number(Double(step)), "uri": .string(uri), "nodes": .array(nodes.map(JSONValue.string)),
        ]
        if let reason { payload["reason"] = .string(reason) }
        let rolledBack = EventEnvelope(
            type: "job.rolled_back", producer: producer, tenant: event.tenant, subjects: ["job": job], correlationID: jobID,
            payload: .object(payload))
        try context.emit(rolledBack)
        for copy in try OutboxMessage.placementCopies(of: rolledBack, nodes: nodes, topology: context.topology) { try context.send(copy) }
    }
}
