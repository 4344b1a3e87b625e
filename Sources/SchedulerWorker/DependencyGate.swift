import AgentCore
import Foundation
import Postgres
import Scheduling

/// `depends_on` at run time: a pending job is offered to the scheduler only once every job it
/// depends on has finished successfully; it waits (reason `dependencies`) while any is pending or
/// running, and ends without running (`dependency_failed`) when one ended otherwise. A job of a
/// tenant over budget with policy `stop` (`sched_budget_holds`) waits too (reason `budget`).
enum DependencyGate {
    struct Split {
        var eligible: [SchedulerStore.PendingRow] = []
        var waiting: [(row: SchedulerStore.PendingRow, code: String, message: String)] = []
        var failed: [(row: SchedulerStore.PendingRow, reason: String)] = []
    }

    /// `holds`: tenants whose jobs wait, and why.
    static func split(_ pending: [SchedulerStore.PendingRow], holds: [String: String] = [:], in db: PostgresConnection) throws -> Split {
        var split = Split()
        var pending = pending
        if !holds.isEmpty {
            pending = pending.filter { row in
                guard let message = holds[row.job.tenant] else { return true }
                split.waiting.append((row, "budget", message))
                return false
            }
        }
        let dependencies = Set(pending.flatMap(\.dependsOn))
        guard !dependencies.isEmpty else {
            split.eligible = pending
            return split
        }
        var known: [UUID: (state: String, outcome: String)] = [:]
        for row in try db.query("SELECT job_id, state, outcome FROM sched_jobs WHERE job_id = ANY($1::uuid[])", [Array(dependencies)]) {
            // A finish without an outcome came from a sender that only reported success.
            known[try row.decode(0, as: UUID.self)] = (try row.decode(1), try row.decodeIfPresent(2, as: String.self) ?? "succeeded")
        }
        for row in pending {
            if let failed = row.dependsOn.first(where: { known[$0]?.state == "finished" && known[$0]?.outcome != "succeeded" }) {
                split.failed.append((row, "dependency \(failed.lowercaseText) ended \(known[failed]!.outcome)"))
                continue
            }
            let unmet = row.dependsOn.filter { known[$0]?.state != "finished" }
            guard !unmet.isEmpty else {
                split.eligible.append(row)
                continue
            }
            let listed = unmet.prefix(3).map { "\($0.lowercaseText) (\(known[$0]?.state ?? "not yet admitted here"))" }
            split.waiting.append(
                (row, "dependencies", "waiting for \(unmet.count) of \(row.dependsOn.count) dependencies to finish: \(listed.joined(separator: ", "))"
                    + (unmet.count > 3 ? ", …" : "")))
        }
        return split
    }

    /// Records the waits (when the message changed) and ends the jobs that can never run; returns
    /// the events to record: `job.pending` for a new wait, `job.finished` for a job that ended.
    static func record(_ split: Split, now: Date, producer: String, in db: PostgresConnection) throws -> [EventEnvelope] {
        var events: [EventEnvelope] = []
        let changed = split.waiting.filter { $0.row.reasonMessage != $0.message }
        if !changed.isEmpty {
            try db.query(
                """
                UPDATE sched_jobs j SET reason_code = w.code, reason_message = w.message, reason_details = NULL,
                       queue_position = NULL, updated_at = $4
                FROM unnest($1::uuid[], $2::text[], $3::text[]) AS w(job_id, code, message)
                WHERE j.job_id = w.job_id AND j.state = 'pending'
                """, [changed.map(\.row.job.id), changed.map(\.code), changed.map(\.message), now])
            for (row, code, message) in changed where row.reasonCode != code {
                events.append(
                    EventEnvelope(
                        type: "job.pending", producer: producer, tenant: row.job.tenant, subjects: ["job": row.job.id.lowercaseText],
                        correlationID: row.job.id,
                        payload: [
                            "job_id": .string(row.job.id.lowercaseText), "code": .string(code), "message": .string(message),
                        ]))
            }
        }
        if !split.failed.isEmpty {
            let ended = Set(try db.query(
                """
                UPDATE sched_jobs j SET state = 'finished', outcome = 'dependency_failed', reason_code = 'dependencies',
                       reason_message = f.reason, queue_position = NULL, updated_at = $3
                FROM unnest($1::uuid[], $2::text[]) AS f(job_id, reason)
                WHERE j.job_id = f.job_id AND j.state = 'pending'
                RETURNING j.job_id
                """, [split.failed.map(\.row.job.id), split.failed.map(\.reason), now]
            ).map { try $0.decode(0, as: UUID.self) })
            for (row, reason) in split.failed where ended.contains(row.job.id) {
                events.append(
                    EventEnvelope(
                        type: "job.finished", producer: producer, tenant: row.job.tenant, subjects: ["job": row.job.id.lowercaseText],
                        correlationID: row.job.id,
                        payload: [
                            "job_id": .string(row.job.id.lowercaseText), "outcome": "dependency_failed", "reason": .string(reason),
                        ]))
            }
        }
        return events
    }
}
