import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// `agentctl jobs rollback JOB --to CHECKPOINT`: restart a running job from one of its recorded
/// checkpoints. Emits `job.rollback_requested`; the scheduler (which counts a job's attempts)
/// starts the next attempt and sends `job.rolled_back` through the placements exchange to every
/// node of the job: each node's agent stops its runs of the job (SIGTERM now; their ends are
/// `rolled_back`, not the job's), discards the checkpoints past the chosen step, and starts the
/// new attempt's runs of the checkpoint's stage resuming from it. The job keeps its allocation.
public enum JobRollback {
    public struct Request: Sendable {
        public var jobID: UUID
        public var stage: Int
        public var step: Int64
        public var uri: String
        public var nodes: [String]
        public var event: EventEnvelope
    }

    public struct RollbackError: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// `checkpoint`: a step number or a checkpoint's URI, as `agentctl jobs checkpoints` lists them.
    public static func request(
        jobID: UUID, to checkpoint: String, reason: String?, actor: String, topology: Topology, in db: PostgresConnection
    ) throws -> Request {
        let job = jobID.uuidString.lowercased()
        // One rollback of a job at a time: the next waits for this one's commit and then sees it.
        try db.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", ["rollback:" + job])
        guard let tenant = try db.query("SELECT tenant FROM jobs WHERE id = $1", [jobID]).first.map({ try $0.decode(0, as: String.self) }) else {
            throw RollbackError("job \(job) does not exist")
        }
        let target = try findCheckpoint(jobID: jobID, checkpoint, in: db)
        let active = try db.query(
            "SELECT nodes::text[] FROM runs WHERE job_id = $1 AND state IN ('starting', 'running') LIMIT 1", [jobID])
        guard let nodes = try active.first?.decode(0, as: [String].self) else {
            let states = try db.query("SELECT DISTINCT state FROM runs WHERE job_id = $1 ORDER BY 1", [jobID]).map { try $0.decode(0, as: String.self) }
            throw RollbackError(
                "job \(job) is not running (its runs: \(states.isEmpty ? "none yet" : states.joined(separator: ", "))); "
                    + "rollback restarts a running job from one of its checkpoints")
        }
        var payload: [String: JSONValue] = [
            "job_id": .string(job), "stage": .number(Double(target.stage)), "step": .number(Double(target.step)), "uri": .string(target.uri),
            "checkpoint_run_id": .string(target.runID.uuidString.lowercased()),
        ]
        if let reason, !reason.isEmpty { payload["reason"] = .string(reason) }
        let event = EventEnvelope(
            type: "job.rollback_requested", producer: actor, tenant: tenant, subjects: ["job": job], correlationID: jobID,
            payload: .object(payload))
        try EventRecorder.append([(event, nil)], topology: topology, in: db)
        return Request(jobID: jobID, stage: target.stage, step: target.step, uri: target.uri, nodes: nodes, event: event)
    }

    private static func findCheckpoint(jobID: UUID, _ reference: String, in db: PostgresConnection) throws -> (
        step: Int64, uri: String, runID: UUID, stage: Int
    ) {
        let byStep = Int64(reference)
        let rows = try db.query(
            """
            SELECT c.step, c.uri, c.run_id, r.stage FROM checkpoints c JOIN runs r ON r.run_id = c.run_id
            WHERE c.job_id = $1 AND NOT c.discarded AND (c.step = $2 OR c.uri = $3)
            ORDER BY c.recorded_at DESC LIMIT 1
            """, [jobID, byStep ?? -1, byStep == nil ? reference : ""])
        guard let row = rows.first else {
            let steps = try db.query(
                "SELECT DISTINCT step FROM checkpoints WHERE job_id = $1 AND NOT discarded ORDER BY step", [jobID]
            ).map { String(try $0.decode(0, as: Int64.self)) }
            throw RollbackError(
                "--to \(reference): the job has no such checkpoint (a step or a URI from agentctl jobs checkpoints); "
                    + (steps.isEmpty ? "it has recorded none yet" : "its steps: \(steps.joined(separator: ", "))"))
        }
        return (try row.decode(0), try row.decode(1), try row.decode(2), try row.decode(3))
    }
}
