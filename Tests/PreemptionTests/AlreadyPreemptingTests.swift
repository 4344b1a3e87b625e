import Preemption
import Testing

@Suite("Jobs already being preempted: never chosen again, their capacity counts as freed")
struct AlreadyPreemptingTests {
    static let nodes = [Fixture.node("n1"), Fixture.node("n2"), Fixture.node("n3")]
    static let running = [
        Fixture.running("a", nodes: ["n1"], checkpoint: -60),
        Fixture.running("b", nodes: ["n2"], checkpoint: -120),
        Fixture.running("c", nodes: ["n3"], checkpoint: -180),
    ]

    @Test("What they free is enough: no new victim, waiting")
    func waiting() {
        let decision = Fixture.choose(Fixture.request(), nodes: Self.nodes, running: Self.running, alreadyPreempting: ["a"])
        #expect(
            decision
                == PreemptionDecision(
                    outcome: .waitingForPreemptions,
                    explanation: "waiting for 1 job already being preempted (a): it frees enough for 8 GPUs of gpu-v100"))
        #expect(decision.fits && decision.waitingForPreemptions && decision.victims.isEmpty)

        let two = Fixture.choose(Fixture.request(replicas: 2), nodes: Self.nodes, running: Self.running, alreadyPreempting: ["c", "a"])
        #expect(two.explanation == "waiting for 2 jobs already being preempted (a, c): they free enough for 2 × 8 GPUs of gpu-v100")
    }

    @Test("A second decision stops only what is still missing, never the job already being stopped")
    func onlyWhatIsMissing() {
        let first = Fixture.choose(Fixture.request(replicas: 2), nodes: Self.nodes, running: Self.running)
        #expect(first.victimIDs == ["a", "b"])
        let second = Fixture.choose(Fixture.request(replicas: 2), nodes: Self.nodes, running: Self.running, alreadyPreempting: ["a"])
        #expect(second.outcome == .preempt && !second.waitingForPreemptions)
        #expect(second.victimIDs == ["b"])
        #expect(second.explanation.hasSuffix("; counting 1 job already being preempted"))
        let third = Fixture.choose(Fixture.request(replicas: 2), nodes: Self.nodes, running: Self.running, alreadyPreempting: ["a", "b"])
        #expect(third.outcome == .waitingForPreemptions)
    }

    @Test("Jobs being preempted are counted in the reasons when nothing else can be stopped or freed")
    func reasons() {
        let running = [Fixture.running("a", nodes: ["n1"]), Fixture.running("h", .high, nodes: ["n2"])]
        let nodes = Array(Self.nodes.prefix(2))
        let none = Fixture.choose(Fixture.request(replicas: 2), nodes: nodes, running: running, alreadyPreempting: ["a"])
        #expect(none.outcome == .noEligibleJobs)
        #expect(none.explanation == "no eligible jobs: of 2 running gpu-v100 jobs, 1 is not below class high, 1 is already being preempted")

        let short = Fixture.choose(
            Fixture.request(replicas: 3), nodes: nodes, running: [running[0], Fixture.running("b", nodes: ["n2"])], alreadyPreempting: ["a"]
        )
        #expect(
            short.explanation
                == "even stopping every eligible job frees too little: needs 3 × 8 GPUs of gpu-v100; stopping the 1 eligible job and the 1 job already being preempted leaves room for 2"
        )
    }
}
