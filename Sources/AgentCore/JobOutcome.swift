/// How a job's or run's end is classified. The scheduler's retry policy and the cost accountant
/// (which releases a job's reservation once it ended for good) read outcomes the same way.
public enum JobOutcome {
    /// The failure category of an outcome (node agents' and the health checker's words), which a
    /// job's `retry_on` names; nil when the outcome is final whatever the policy (success, max
    /// runtime, a threshold not met...).
    public static func retryCategory(of outcome: String) -> String? {
        switch outcome {
        case "preempted": "preempted"
        case "budget_exceeded": "budget_exceeded"
        case "node_lost", "lost", "interrupted": "node_lost"
        case "stalled": "stalled"
        case "failed": "exit_nonzero"
        default: nil
        }
    }
}
