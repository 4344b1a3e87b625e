import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// How the scheduler settles an attempt that did not simply succeed: a run's failure, a
/// preemption, a lost node, a stall. The job's retry policy decides between requeueing it (the
/// next attempt, placeable after the backoff, resuming from its newest checkpoint wherever it is
/// placed) and ending it for good with its attempt history. A report about an attempt older
/// than the job's current one is stale (fencing) and changes nothing.
enum AttemptSettlement {
    struct Ending {
        var jobID: UUID
        /// The attempt the report is about; nil: the job's current one.
        var attempt: Int?
        var outcome: String
        var reason: String?
    }

    enum Result {
        case stale
        case requeued(EventEnvelope, nodes: [String])
        /// The job ended; `job.failed` (nil when it succeeded) goes to its nodes too, which stop what still runs of it.
        case ended(EventEnvelope?, nodes: [String])
    }

    static func settle(_ ending: Ending, tenant: String?, producer: String, now: Date, in db: PostgresConnection) throws -> Result {
        let job = ending.jobID.lowercaseText
        guard let row = try db.query(
            "SELECT state, attempt, retry::text, tenant FROM sched_jobs WHERE job_id = $1 FOR UPDATE", [ending.jobID]
        ).first else {
            try SchedulerStore.release([ending.jobID], outcomes: [ending.outcome], now: now, in: db)  // tombstone
            return .ended(nil, nodes: [])
        }
        let state = try row.decode(0, as: String.self)
        let current = try row.decode(1, as: Int.self)
        let storedTenant = try row.decode(3, as: String.self)
        let tenant = tenant ?? storedTenant
        guard state == "scheduled", (ending.attempt ?? current) == current else { return .stale }
        let nodes = try SchedulerStore.openNodes(of: ending.jobID, in: db)
        let failures = try db.query(
            "SELECT count(*)::int FROM job_attempts WHERE job_id = $1 AND outcome NOT IN ('preempted', 'rolled_back', 'budget_exceeded')", [ending.jobID])[0].decode(0, as: Int.self)
        let rule = RetryRule(json: try JSONValue.parse(Data(try row.decode(2, as: String.self).utf8)))
        let decision = rule.decide(outcome: ending.outcome, failures: failures)
        let retried: Bool
        if case .retry = decision { retried = true } else { retried = false }
        try db.query(
            """
            INSERT INTO job_attempts (job_id, attempt, nodes, outcome, reason, retried, ended_at) VALUES ($1, $2, $3::text[], $4, $5, $6, $7)
            ON CONFLICT (job_id, attempt) DO NOTHING
            """, [ending.jobID, current, nodes, ending.outcome, ending.reason, retried, now])
        switch decision {
        case .retry(let category, let delay):
            let retryAt = now.addingTimeInterval(Double(delay))
            _ = try SchedulerStore.releaseAllocations(of: [ending.jobID], at: now, in: db)
            try db.query(
                """
                UPDATE sched_jobs SET state = 'pending', attempt = attempt + 1, not_before = $2, updated_at = $3,
                    reason_code = 'retrying', reason_message = $4, reason_details = NULL, queue_position = NULL
                WHERE job_id = $1
                """,
                [
                    ending.jobID, delay > 0 ? retryAt : nil, now,
                    "attempt \(current) ended (\(ending.outcome)); attempt \(current + 1) "
                        + (delay > 0 ? "may be placed from \(ISO8601.string(from: retryAt))" : "waits to be placed again"),
                ])
            var payload: [String: JSONValue] = [
                "job_id": .string(job), "attempt": .number(Double(current + 1)), "previous_attempt": .number(Double(current)),
                "reason": .string(category), "outcome": .string(ending.outcome), "retry_at": .string(ISO8601.string(from: retryAt)),
                "nodes": .array(nodes.map(JSONValue.string)),
            ]
            if let reason = ending.reason { payload["detail"] = .string(reason) }
            return .requeued(
                EventEnvelope(
                    type: "job.requeued", producer: producer, tenant: tenant, subjects: ["job": job], correlationID: ending.jobID,
                    payload: .object(payload)), nodes: nodes)
        case .final(let why):
            try SchedulerStore.release([ending.jobID], outcomes: [ending.outcome], attempts: [current], now: now, in: db)
            guard ending.outcome != "succeeded" else { return .ended(nil, nodes: []) }
            let history = try db.query(
                "SELECT attempt, outcome, reason, nodes::text[], ended_at FROM job_attempts WHERE job_id = $1 ORDER BY attempt", [ending.jobID]
            ).map { row -> JSONValue in
                .object([
                    "attempt": .number(Double(try row.decode(0, as: Int.self))), "outcome": .string(try row.decode(1)),
                    "reason": (try row.decodeIfPresent(2, as: String.self)).map(JSONValue.string) ?? .null,
                    "nodes": .array(try row.decode(3, as: [String].self).map(JSONValue.string)),
                    "ended_at": .string(ISO8601.string(from: try row.decode(4, as: Date.self))),
                ])
            }
            var payload: [String: JSONValue] = ["job_id": .string(job), "outcome": .string(ending.outcome), "attempts": .array(history)]
            if let why { payload["not_retried"] = .string(why) }
            return .ended(
                EventEnvelope(
                    type: "job.failed", producer: producer, tenant: tenant, subjects: ["job": job], correlationID: ending.jobID,
                    payload: .object(payload)), nodes: nodes)
        }
    }
}
