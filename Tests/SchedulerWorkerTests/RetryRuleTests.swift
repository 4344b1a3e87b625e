import AgentCore
import Testing

@testable import SchedulerWorker

@Suite("Retry policy: which endings are retried, after how long")
struct RetryRuleTests {
    let rule = RetryRule(maxAttempts: 3, backoffSeconds: 30, retryOn: ["node_lost", "preempted", "stalled"])

    @Test("Outcomes map to failure categories; successes and other final outcomes are never retried")
    func categories() {
        #expect(RetryRule.category(of: "preempted") == "preempted")
        #expect(RetryRule.category(of: "node_lost") == "node_lost")
        #expect(RetryRule.category(of: "lost") == "node_lost")
        #expect(RetryRule.category(of: "interrupted") == "node_lost")
        #expect(RetryRule.category(of: "stalled") == "stalled")
        #expect(RetryRule.category(of: "failed") == "exit_nonzero")
        for final in ["succeeded", "timed_out", "threshold_not_met", "dependency_failed", "rolled_back"] {
            #expect(RetryRule.category(of: final) == nil)
            #expect(rule.decide(outcome: final, failures: 0) == .final(reason: nil))
        }
    }

    @Test("Exponential backoff per failure, until the attempts run out")
    func backoff() {
        #expect(rule.decide(outcome: "node_lost", failures: 0) == .retry(category: "node_lost", delaySeconds: 30))
        #expect(rule.decide(outcome: "stalled", failures: 1) == .retry(category: "stalled", delaySeconds: 60))
        #expect(rule.decide(outcome: "node_lost", failures: 2) == .final(reason: "all 3 attempts used"))
        #expect(RetryRule(maxAttempts: 40, backoffSeconds: 3600).decide(outcome: "node_lost", failures: 30)
            == .retry(category: "node_lost", delaySeconds: 86_400))
    }

    @Test("A non-zero exit is retried only when retry_on names it; preemption always requeues, without using an attempt")
    func policyChoices() {
        #expect(rule.decide(outcome: "failed", failures: 0) == .final(reason: "exit_nonzero is not in retry_on"))
        let withExit = RetryRule(maxAttempts: 2, backoffSeconds: 0, retryOn: ["exit_nonzero"])
        #expect(withExit.decide(outcome: "failed", failures: 0) == .retry(category: "exit_nonzero", delaySeconds: 0))
        #expect(withExit.decide(outcome: "preempted", failures: 5) == .retry(category: "preempted", delaySeconds: 0))
        let never = RetryRule(json: ["max_attempts": 1, "backoff_seconds": 10, "retry_on": []])
        #expect(never.decide(outcome: "node_lost", failures: 0) == .final(reason: "node_lost is not in retry_on"))
        #expect(never.maxAttempts == 1 && never.backoffSeconds == 10 && never.retryOn.isEmpty)
    }
}
