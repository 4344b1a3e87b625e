import Preemption
import Testing

@Suite("Eligibility: lower class, reclaiming borrowed quota, minimum runtime, flavor and nodes")
struct EligibilityTests {
    static let nodes = (1...4).map { Fixture.node("n\($0)") }

    @Test("Never a job of equal or higher class, however cheap")
    func neverEqualOrHigher() {
        let running = [
            Fixture.running("same", .normal, nodes: ["n1"], checkpoint: -10),
            Fixture.running("higher", .high, nodes: ["n2"], checkpoint: -10),
            Fixture.running("lower", .low, nodes: ["n3"]),
        ]
        let decision = Fixture.choose(Fixture.request(.normal), nodes: Array(Self.nodes.prefix(3)), running: running)
        #expect(decision.victimIDs == ["lower"])
        #expect(decision.victims.map(\.reason) == [.lowerPriority])

        let none = Fixture.choose(Fixture.request(.normal), nodes: Array(Self.nodes.prefix(2)), running: Array(running.prefix(2)))
        #expect(none.outcome == .noEligibleJobs)
        #expect(none.victims.isEmpty && !none.fits && !none.waitingForPreemptions)
        #expect(none.explanation == "no eligible jobs: of 2 running gpu-v100 jobs, 2 are not below class normal")
    }

    /// acme's normal job; beta borrows with a high job; acme itself borrows with a high job.
    static let reclaimRunning = [
        Fixture.running("own", tenant: "acme", .high, nodes: ["n1"], checkpoint: -30, borrowing: true),
        Fixture.running("borrower", tenant: "beta", .high, nodes: ["n2"], checkpoint: -60, borrowing: true),
        Fixture.running("plain", tenant: "beta", .high, nodes: ["n3"], checkpoint: -10),
        Fixture.running("low", tenant: "beta", .low, nodes: ["n4"]),
    ]

    @Test("A tenant under its nominal quota reclaims another tenant's borrowed capacity, whatever its class, never its own")
    func reclaimBorrowed() {
        let one = Fixture.choose(Fixture.request(.normal, underNominal: true), nodes: Self.nodes, running: Self.reclaimRunning)
        #expect(one.victimIDs == ["borrower"])
        #expect(one.victims.map(\.reason) == [.reclaimBorrowed])
        #expect(one.explanation.hasSuffix("borrower (high, reclaims borrowed quota, 480 GPU-seconds, $0.27)"))

        let two = Fixture.choose(Fixture.request(.normal, replicas: 2, underNominal: true), nodes: Self.nodes, running: Self.reclaimRunning)
        #expect(two.victimIDs == ["borrower", "low"])
        #expect(two.victims.map(\.reason) == [.reclaimBorrowed, .lowerPriority])

        let three = Fixture.choose(
            Fixture.request(.normal, replicas: 3, underNominal: true), nodes: Self.nodes, running: Self.reclaimRunning)
        #expect(three.outcome == .tooLittleFreed)
    }

    @Test("A tenant at or over its nominal quota reclaims nothing: only lower classes")
    func noReclaimOverNominal() {
        let decision = Fixture.choose(Fixture.request(.normal), nodes: Self.nodes, running: Self.reclaimRunning)
        #expect(decision.victimIDs == ["low"])

        let withoutLow = Array(Self.reclaimRunning.prefix(3))
        let none = Fixture.choose(
            Fixture.request(.normal), nodes: Self.nodes, running: withoutLow, otherUse: ["n4": Resources(gpus: 8, cpu: 0, memoryGiB: 0)])
        #expect(none.outcome == .noEligibleJobs)
        #expect(
            none.explanation
                == "no eligible jobs: of 3 running gpu-v100 jobs, 3 are not below class normal (1 borrowing, but tenant acme is not under its nominal quota, so it cannot reclaim)"
        )

        let ownOnly = [Self.reclaimRunning[0], Self.reclaimRunning[2]]
        let own = Fixture.choose(
            Fixture.request(.normal, underNominal: true), nodes: Array(Self.nodes.prefix(1)) + [Self.nodes[2]], running: ownOnly)
        #expect(
            own.explanation
                == "no eligible jobs: of 2 running gpu-v100 jobs, 2 are not below class normal (1 borrowing, but of tenant acme itself)")
    }

    @Test("The preemptor's own tenant's jobs count when their class is lower; the preemptor itself never")
    func ownTenantLowerClass() {
        let running = [
            Fixture.running("preemptor", tenant: "acme", .low, nodes: ["n1"], checkpoint: -1),
            Fixture.running("mine", tenant: "acme", .low, nodes: ["n2"], checkpoint: -60),
            Fixture.running("theirs", tenant: "beta", .low, nodes: ["n3"], checkpoint: -120),
        ]
        let decision = Fixture.choose(Fixture.request(.high), nodes: Array(Self.nodes.prefix(3)), running: running)
        #expect(decision.victimIDs == ["mine"])
    }

    @Test("A job is stopped only once it has run its class's minimum runtime (exactly that long is enough)")
    func minimumRuntime() {
        let policy = Fixture.policy(minimumRuntime: [.low: 600, .batch: 60])
        let running = [
            Fixture.running("young", .low, nodes: ["n1"], started: -300),  // $1.33, too young
            Fixture.running("old", .low, nodes: ["n2"], checkpoint: -1_800),  // $8.00
            Fixture.running("exact", .low, nodes: ["n3"], started: -600),  // $2.67
        ]
        let decision = Fixture.choose(Fixture.request(replicas: 2), nodes: Array(Self.nodes.prefix(3)), running: running, policy: policy)
        #expect(decision.victimIDs == ["exact", "old"])

        let none = Fixture.choose(Fixture.request(), nodes: [Self.nodes[0]], running: [running[0]], policy: policy)
        #expect(none.outcome == .noEligibleJobs)
        #expect(none.explanation == "no eligible jobs: of 1 running gpu-v100 job, 1 has not run its minimum runtime")

        let noMinimum = Fixture.choose(Fixture.request(), nodes: [Self.nodes[0]], running: [running[0]])
        #expect(noMinimum.victimIDs == ["young"])
    }

    @Test("Only jobs of the preemptor's flavor on nodes that can take it free anything")
    func flavorAndNodes() {
        let nodes = [
            Fixture.node("n1", placeable: false), Fixture.node("n2"), Fixture.node("n3"), Fixture.node("t1", flavor: "gpu-t4", gpus: 8),
        ]
        let running = [
            Fixture.running("t4", flavor: "gpu-t4", nodes: ["t1"], checkpoint: -1),
            Fixture.running("cordoned", nodes: ["n1"], checkpoint: -2),
            Fixture.running("v100", nodes: ["n2"], checkpoint: -600),
            Fixture.running("high", .high, nodes: ["n3"], checkpoint: -3),
        ]
        let decision = Fixture.choose(Fixture.request(.high), nodes: nodes, running: running)
        #expect(decision.victimIDs == ["v100"])

        let none = Fixture.choose(
            Fixture.request(.high), nodes: nodes, running: [running[0], running[1], running[3]],
            otherUse: ["n2": Resources(gpus: 8, cpu: 0, memoryGiB: 0)])
        #expect(none.outcome == .noEligibleJobs)
        #expect(
            none.explanation
                == "no eligible jobs: of 2 running gpu-v100 jobs, 1 is not below class high, 1 runs only on nodes that cannot take it")

        let noNodes = Fixture.choose(Fixture.request(.high), nodes: [nodes[0], nodes[3]], running: [running[0], running[1]])
        #expect(noNodes.explanation == "no eligible jobs: no ready gpu-v100 nodes")

        let noJobs = Fixture.choose(
            Fixture.request(.high), nodes: [nodes[3], nodes[1]], running: [running[0]],
            otherUse: ["n2": Resources(gpus: 8, cpu: 0, memoryGiB: 0)])
        #expect(noJobs.explanation == "no eligible jobs: no running gpu-v100 jobs")
    }

    @Test("A gang with replicas on a cordoned and a ready node frees the ready one, and loses the work of both")
    func partlyOnUnplaceableNodes() {
        let nodes = [Fixture.node("c1", placeable: false), Fixture.node("n1"), Fixture.node("n2")]
        let running = [
            Fixture.running("split", nodes: ["c1", "n1"], checkpoint: -60),  // 16 GPUs × 60 s
            Fixture.running("whole", nodes: ["n2"], checkpoint: -600),
        ]
        let decision = Fixture.choose(Fixture.request(), nodes: nodes, running: running)
        #expect(decision.victimIDs == ["split"])
        #expect(decision.victims.map(\.workLost.unitSeconds) == [960])
    }
}
