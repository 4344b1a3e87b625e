import AgentCore
import Foundation

/// A job's retry policy (`retry` in its spec, carried by job.admitted) and what it decides when an
/// attempt ends. Preempted jobs, and jobs stopped because their tenant spent its budget, are always
/// requeued and do not use up attempts (neither is the job's failure); other failures retry when their category is in `retry_on` and attempts
/// remain, after `backoff_seconds × 2^(failures so far)` (at most a day).
struct RetryRule: Equatable {
    static let defaultJSON = #"{"max_attempts": 3, "backoff_seconds": 30, "retry_on": ["node_lost", "preempted", "stalled"]}"#

    var maxAttempts: Int
    var backoffSeconds: Int
    var retryOn: Set<String>

    init(maxAttempts: Int = 3, backoffSeconds: Int = 30, retryOn: Set<String> = ["node_lost", "preempted", "stalled"]) {
        self.maxAttempts = maxAttempts
        self.backoffSeconds = backoffSeconds
        self.retryOn = retryOn
    }

    init(json: JSONValue) {
        self.init()
        if let value = json["max_attempts"]?.integerValue, value >= 1 { maxAttempts = value }
        if let value = json["backoff_seconds"]?.integerValue, value >= 0 { backoffSeconds = value }
        if case .array(let items)? = json["retry_on"] {
            retryOn = Set(items.compactMap { if case .string(let name) = $0 { name } else { nil } })
        }
    }

    /// The failure category of a run's outcome (node agents' and the health checker's words), or
    /// nil when the outcome is final whatever the policy (success, max runtime, a threshold...).
    static func category(of outcome: String) -> String? { JobOutcome.retryCategory(of: outcome) }

    enum Decision: Equatable {
        /// Requeue, placeable again after `delaySeconds`.
        case retry(category: String, delaySeconds: Int)
        /// The job has ended; `reason` says why it was not retried (nil: it succeeded or ended normally).
        case final(reason: String?)
    }

    /// `failures`: how many earlier attempts ended in a failure that counts (not preemptions).
    func decide(outcome: String, failures: Int) -> Decision {
        guard let category = Self.category(of: outcome) else { return .final(reason: nil) }
        // Neither is the job's failure: a preempted job waits for capacity, a job stopped because its
        // tenant spent its budget waits (held) for budget; both resume from their checkpoint.
        if category == "preempted" || category == "budget_exceeded" { return .retry(category: category, delaySeconds: 0) }
        guard retryOn.contains(category) else { return .final(reason: "\(category) is not in retry_on") }
        guard failures + 1 < maxAttempts else { return .final(reason: "all \(maxAttempts) attempts used") }
        let delay = min(86_400, backoffSeconds << min(failures, 16))
        return .retry(category: category, delaySeconds: delay)
    }
}
