import AgentRuntime
import Foundation

/// The decision loop's own metrics, served with the consumer's on `/metrics`: how often it
/// decides, how long a round takes, how many jobs it placed and how many wait.
public final class SchedulerMetrics: Sendable {
    public let rounds = Counter()
    public let placements = Counter()
    public let roundLatency = Histogram()
    /// Jobs waiting after the last round (-1 until this replica has led a round).
    public let pending = Gauge()
    /// 1 while this replica leads, 0 otherwise.
    public let leader = Gauge()

    public init() {}

    public func prometheusText(worker: String) -> String {
        let labels = "worker=\"\(worker)\""
        var lines = [
            "# HELP agentmgr_scheduler_rounds_total Scheduling rounds this replica ran as leader.",
            "# TYPE agentmgr_scheduler_rounds_total counter", "agentmgr_scheduler_rounds_total{\(labels)} \(rounds.current)",
            "# HELP agentmgr_scheduler_placements_total Jobs placed (scheduling decisions).",
            "# TYPE agentmgr_scheduler_placements_total counter", "agentmgr_scheduler_placements_total{\(labels)} \(placements.current)",
            "# HELP agentmgr_scheduler_pending_jobs Jobs waiting after the last round.",
            "# TYPE agentmgr_scheduler_pending_jobs gauge", "agentmgr_scheduler_pending_jobs{\(labels)} \(pending.current)",
            "# HELP agentmgr_scheduler_leader Whether this replica leads (1) or follows (0).",
            "# TYPE agentmgr_scheduler_leader gauge", "agentmgr_scheduler_leader{\(labels)} \(max(0, leader.current))",
            "# HELP agentmgr_scheduler_round_seconds Time of a scheduling round's transaction (read, decide, write).",
            "# TYPE agentmgr_scheduler_round_seconds histogram",
        ]
        lines += roundLatency.exposition(name: "agentmgr_scheduler_round_seconds", labels: labels)
        return lines.joined(separator: "\n") + "\n"
    }
}
