import AgentCore
import AgentRuntime
import Foundation

/// What one event tells the accountant. Runs are metered from their start (`job.started`), the
/// node agents' usage heartbeats (`node.usage`) and their end (`job.finished`, `run.finished`,
/// `job.stage_finished`); a job's reservation is released for good once the job ended
/// (`job.finished` with an outcome that is not retried, or `job.failed`); a budget change
/// (`tenant.budget_set`) is checked at once.
enum CostReport: Equatable {
    case runStarted(run: UUID, job: UUID, node: String?, at: Date)
    case runSeen(run: UUID, job: UUID, node: String?, startedAt: Date?, at: Date)
    case runEnded(run: UUID, job: UUID, outcome: String, at: Date)
    case jobEnded(job: UUID, outcome: String, at: Date)
    case budgetChanged(tenant: String)

    static let eventTypes = ["job.started", "node.usage", "job.finished", "run.finished", "job.stage_finished", "job.failed", "tenant.budget_set"]

    static func parse(_ event: EventEnvelope) throws -> [CostReport] {
        let payload = event.payload
        switch event.type {
        case "job.started":
            let (job, run) = try ids(event)
            guard let run else { throw MalformedMessage("job.started payload needs run_id") }
            return [.runStarted(run: run, job: job, node: payload["node"]?.textValue, at: try time(payload["started_at"], "started_at") ?? event.occurredAt)]
        case "node.usage":
            guard case .array(let runs)? = payload["runs"] else { throw MalformedMessage("node.usage payload needs runs (an array)") }
            let node = payload["node"]?.textValue
            return try runs.enumerated().map { index, entry in
                guard let job = entry["job_id"]?.textValue.flatMap(UUID.init(uuidString:)),
                    let run = entry["run_id"]?.textValue.flatMap(UUID.init(uuidString:))
                else { throw MalformedMessage("node.usage runs[\(index)] needs job_id and run_id (UUIDs)") }
                return .runSeen(run: run, job: job, node: node, startedAt: try time(entry["started_at"], "runs[\(index)].started_at"), at: event.occurredAt)
            }
        case "job.finished", "run.finished", "job.stage_finished":
            let (job, run) = try ids(event)
            let outcome = payload["outcome"]?.textValue ?? "succeeded"  // older senders only reported success
            var reports: [CostReport] = []
            if let run { reports.append(.runEnded(run: run, job: job, outcome: outcome, at: event.occurredAt)) }
            if event.type == "job.finished", JobOutcome.retryCategory(of: outcome) == nil {
                reports.append(.jobEnded(job: job, outcome: outcome, at: event.occurredAt))
            }
            return reports
        case "job.failed":
            let (job, _) = try ids(event)
            return [.jobEnded(job: job, outcome: payload["outcome"]?.textValue ?? "failed", at: event.occurredAt)]
        case "tenant.budget_set":
            guard let tenant = event.tenant ?? payload["tenant"]?.textValue else { throw MalformedMessage("tenant.budget_set needs a tenant") }
            return [.budgetChanged(tenant: tenant)]
        default:
            return []
        }
    }

    private static func ids(_ event: EventEnvelope) throws -> (job: UUID, run: UUID?) {
        guard let job = event.payload["job_id"]?.textValue.flatMap(UUID.init(uuidString:)) else {
            throw MalformedMessage("\(event.type) payload needs job_id (a UUID)")
        }
        guard let text = event.payload["run_id"]?.textValue else { return (job, nil) }
        guard let run = UUID(uuidString: text) else { throw MalformedMessage("\(event.type) run_id must be a UUID, got \(text)") }
        return (job, run)
    }

    private static func time(_ value: JSONValue?, _ field: String) throws -> Date? {
        guard let value, value != .null else { return nil }
        guard let text = value.textValue, let date = ISO8601.date(from: text) else {
            throw MalformedMessage("\(field) must be an ISO 8601 time")
        }
        return date
    }
}

extension JSONValue {
    /// The string, if this is one.
    var textValue: String? {
        if case .string(let text) = self { text } else { nil }
    }
}
