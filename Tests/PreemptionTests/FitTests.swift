import Preemption
import Testing

@Suite("Fit: gangs over several nodes, shared nodes, cores and memory, zones, minimization, no fit")
struct FitTests {
    @Test("A gang of 2 needs two nodes freed; the cheap victim that freed too little is dropped again")
    func gangNeedsTwoNodesAndMinimizes() {
        let nodes = [Fixture.node("n1"), Fixture.node("n2"), Fixture.node("n3")]
        let running = [
            Fixture.running("a", nodes: ["n1"], checkpoint: -120),  // 960 GPU-s
            Fixture.running("b", nodes: ["n2"], checkpoint: -600),  // 4800 GPU-s
            Fixture.running("c", gpus: 4, nodes: ["n3"], checkpoint: -60),  // 240 GPU-s: cheapest, frees half a node
            Fixture.running("h", .high, gpus: 4, nodes: ["n3"], checkpoint: -1),
        ]
        let decision = Fixture.choose(Fixture.request(replicas: 2), nodes: nodes, running: running)
        #expect(decision.outcome == .preempt)
        #expect(decision.victimIDs == ["a", "b"])
    }

    @Test("Minimization: a cheaper victim taken first is dropped when a later one alone suffices")
    func minimizationDropsEarlierVictim() {
        let nodes = [Fixture.node("n1"), Fixture.node("n2")]
        let running = [
            Fixture.running("half", gpus: 4, nodes: ["n1"], checkpoint: -60),
            Fixture.running("guard", .critical, gpus: 4, nodes: ["n1"], checkpoint: -60),
            Fixture.running("whole", nodes: ["n2"], checkpoint: -600),
        ]
        let decision = Fixture.choose(Fixture.request(), nodes: nodes, running: running)
        #expect(decision.victimIDs == ["whole"])
    }

    @Test("Replicas may share a node: one freed node takes two half-node replicas")
    func replicasShareNode() {
        let nodes = [Fixture.node("n1"), Fixture.node("n2")]
        let running = [Fixture.running("a", nodes: ["n1"], checkpoint: -60), Fixture.running("b", nodes: ["n2"], checkpoint: -600)]
        let decision = Fixture.choose(Fixture.request(gpus: 4, replicas: 2), nodes: nodes, running: running)
        #expect(decision.victimIDs == ["a"])
    }

    @Test("Freeing GPUs is not enough when cores (or memory) stay short")
    func coresCount() {
        let nodes = [Fixture.node("n1"), Fixture.node("n2")]
        let running = [Fixture.running("a", nodes: ["n1"], checkpoint: -60), Fixture.running("b", nodes: ["n2"], checkpoint: -600)]
        let short = ["n1": Resources(gpus: 0, cpu: 40, memoryGiB: 0)]
        let cores = Fixture.choose(Fixture.request(gpus: 4, cpu: 64), nodes: nodes, running: running, otherUse: short)
        #expect(cores.victimIDs == ["b"])
        let memory = Fixture.choose(
            Fixture.request(gpus: 4, memory: 300), nodes: nodes, running: running,
            otherUse: ["n1": Resources(gpus: 0, cpu: 0, memoryGiB: 100)])
        #expect(memory.victimIDs == ["b"])
    }

    static let zoned = [
        Fixture.node("a1", zone: "a"), Fixture.node("a2", zone: "a"), Fixture.node("b1", zone: "b"), Fixture.node("b2", zone: "b"),
    ]
    static let zonedRunning = [
        Fixture.running("j1", nodes: ["a1"], checkpoint: -60),
        Fixture.running("j2", nodes: ["b1"], checkpoint: -120),
        Fixture.running("j3", nodes: ["b2"], checkpoint: -180),
        Fixture.running("j4", nodes: ["a2"], checkpoint: -240),
    ]

    @Test("Same zone: the two cheapest victims are in different zones, so the cheapest pair within one zone is chosen")
    func sameZone() {
        let anywhere = Fixture.choose(Fixture.request(replicas: 2), nodes: Self.zoned, running: Self.zonedRunning)
        #expect(anywhere.victimIDs == ["j1", "j2"])
        let together = Fixture.choose(Fixture.request(replicas: 2, sameZone: true), nodes: Self.zoned, running: Self.zonedRunning)
        #expect(together.victimIDs == ["j2", "j3"])
        #expect(together.explanation.hasPrefix("stop 2 jobs for 2 × 8 GPUs of gpu-v100 in one zone, losing $1.33 of work: "))
    }

    @Test("No fit even with every eligible job stopped: nothing is stopped, and the reason says how far it falls short")
    func noFit() {
        let nodes = [Fixture.node("n1"), Fixture.node("n2")]
        let running = [Fixture.running("a", nodes: ["n1"]), Fixture.running("b", nodes: ["n2"])]
        let decision = Fixture.choose(Fixture.request(replicas: 3), nodes: nodes, running: running)
        #expect(
            decision
                == PreemptionDecision(
                    outcome: .tooLittleFreed,
                    explanation:
                        "even stopping every eligible job frees too little: needs 3 × 8 GPUs of gpu-v100; stopping all 2 eligible jobs leaves room for 2"
                ))
        #expect(!decision.fits && decision.victims.isEmpty)

        let zones = [Fixture.node("a1", zone: "a"), Fixture.node("b1", zone: "b")]
        let apart = [Fixture.running("a", nodes: ["a1"]), Fixture.running("b", nodes: ["b1"])]
        let oneZone = Fixture.choose(Fixture.request(replicas: 2, sameZone: true), nodes: zones, running: apart)
        #expect(
            oneZone.explanation
                == "even stopping every eligible job frees too little: needs 2 × 8 GPUs of gpu-v100 in one zone; stopping all 2 eligible jobs leaves room for 1"
        )

        let tooBig = Fixture.choose(
            Fixture.request(gpus: 16), nodes: nodes, running: [running[0]], otherUse: ["n2": Resources(gpus: 8, cpu: 0, memoryGiB: 0)])
        #expect(
            tooBig.explanation
                == "even stopping every eligible job frees too little: needs 16 GPUs of gpu-v100; stopping the 1 eligible job leaves room for 0"
        )
    }

    @Test("Already fits in the free capacity: nothing to stop")
    func fitsWithoutPreemption() {
        let nodes = [Fixture.node("n1"), Fixture.node("n2")]
        let decision = Fixture.choose(Fixture.request(), nodes: nodes, running: [Fixture.running("a", nodes: ["n1"])])
        #expect(
            decision
                == PreemptionDecision(
                    outcome: .fitsWithoutPreemption, explanation: "fits in the free capacity: 8 GPUs of gpu-v100; nothing to stop"))
        #expect(decision.fits && !decision.waitingForPreemptions)
    }

    @Test("Freed capacity never exceeds a node's capacity (inconsistent input: a job on a node that shows it free)")
    func freedCappedAtCapacity() {
        let node = Fixture.node("n1", gpus: 8)
        let ghost = Fixture.running("ghost", nodes: ["n1"], checkpoint: -60)
        var half = node
        half.free = Resources(gpus: 4, cpu: 96, memoryGiB: 384)
        let decision = VictimSelection.choose(
            for: Fixture.request(gpus: 6, replicas: 2), nodes: [half], running: [ghost], policy: Fixture.policy())
        #expect(decision.outcome == .tooLittleFreed)
    }
}
