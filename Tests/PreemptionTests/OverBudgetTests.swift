import Preemption
import Testing

@Suite("Jobs of a tenant over budget (policy downgrade): preemptible by any other tenant's job")
struct OverBudgetTests {
    static let nodes = [Fixture.node("n1"), Fixture.node("n2")]

    static func overBudget(_ job: Preemption.RunningJob) -> Preemption.RunningJob {
        var job = job
        job.overBudget = true
        return job
    }

    @Test("A batch job may stop a critical job whose tenant is over budget, not one whose tenant is not")
    func anyClass() {
        let critical = Fixture.running("spent", tenant: "globex", .critical, nodes: ["n1"])
        let other = Fixture.running("paying", tenant: "initech", .critical, nodes: ["n2"])
        let request = Fixture.request(tenant: "acme", .batch)
        #expect(Fixture.choose(request, nodes: Self.nodes, running: [critical, other]).victimIDs.isEmpty)
        let decision = Fixture.choose(request, nodes: Self.nodes, running: [Self.overBudget(critical), other])
        #expect(decision.victimIDs == ["spent"])
        #expect(decision.victims.first?.reason == .overBudget)
        #expect(decision.explanation.contains("its tenant is over budget"))
    }

    @Test("Its own tenant's jobs cannot take its place, and the minimum runtime does not protect it")
    func ownTenantAndMinimumRuntime() {
        let young = Self.overBudget(Fixture.running("spent", tenant: "globex", .critical, nodes: ["n1"], started: -5))
        let full = [young, Fixture.running("paying", tenant: "initech", .critical, nodes: ["n2"])]
        #expect(Fixture.choose(Fixture.request(tenant: "globex", .critical), nodes: Self.nodes, running: full).victimIDs.isEmpty)
        let decision = Fixture.choose(
            Fixture.request(tenant: "acme", .low), nodes: Self.nodes, running: full, policy: Fixture.policy(minimumRuntime: [.critical: 600]))
        #expect(decision.victimIDs == ["spent"])
    }

    @Test("A job of another over-budget tenant may not stop them (only by class, as ever)")
    func notByAnotherSpender() {
        let spent = Self.overBudget(Fixture.running("spent", tenant: "globex", .high, nodes: ["n1"]))
        let full = [spent, Fixture.running("paying", tenant: "initech", .critical, nodes: ["n2"])]
        var request = Fixture.request(tenant: "acme", .normal)
        request.overBudget = true
        #expect(Fixture.choose(request, nodes: Self.nodes, running: full).victimIDs.isEmpty)
        request.priorityClass = .critical
        #expect(Fixture.choose(request, nodes: Self.nodes, running: full).victims.first?.reason == .lowerPriority)
    }

    @Test("Over-budget jobs go first, before cheaper lower-class victims")
    func first() {
        let cheap = Fixture.running("cheap", tenant: "initech", .batch, nodes: ["n1"], checkpoint: -1)
        let spent = Self.overBudget(Fixture.running("spent", tenant: "globex", .high, nodes: ["n2"], checkpoint: -3_000))
        #expect(Fixture.choose(Fixture.request(tenant: "acme", .high), nodes: Self.nodes, running: [cheap, spent]).victimIDs == ["spent"])
    }
}
