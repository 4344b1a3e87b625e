import Preemption
import Testing

@Suite("Cost order: least work lost, then lowest class, then most recently started, then job id")
struct CostOrderTests {
    static let nodes = [Fixture.node("n1"), Fixture.node("n2"), Fixture.node("n3")]

    @Test("A recent checkpoint beats an old one; without a checkpoint the work lost counts from the start")
    func recentCheckpointFirst() {
        let running = [
            Fixture.running("old", nodes: ["n1"], checkpoint: -1_800),
            Fixture.running("recent", nodes: ["n2"], checkpoint: -60),
            Fixture.running("none", nodes: ["n3"], started: -600),
        ]
        let one = Fixture.choose(Fixture.request(), nodes: Self.nodes, running: running)
        #expect(one.outcome == .preempt)
        #expect(one.fits && !one.waitingForPreemptions)
        #expect(
            one.victims == [
                Victim(
                    jobID: "recent", tenant: "beta", priorityClass: .low, reason: .lowerPriority,
                    workLost: WorkLost(units: 8, unit: .gpu, seconds: 60, unitSeconds: 480, money: 480 * 2 / 3_600))
            ])
        #expect(
            one.explanation == "stop 1 job for 8 GPUs of gpu-v100, losing $0.27 of work: recent (low, lower class, 480 GPU-seconds, $0.27)")

        let two = Fixture.choose(Fixture.request(replicas: 2), nodes: Self.nodes, running: running)
        #expect(two.victimIDs == ["recent", "none"])
        #expect(two.victims.map(\.workLost.unitSeconds) == [480, 4_800])
        #expect(two.moneyLost == 480.0 * 2 / 3_600 + 4_800.0 * 2 / 3_600)
        #expect(
            two.explanation
                == "stop 2 jobs for 2 × 8 GPUs of gpu-v100, losing $2.93 of work: recent (low, lower class, 480 GPU-seconds, $0.27), none (low, lower class, 4800 GPU-seconds, $2.67)"
        )
    }

    @Test("Money, not GPU-seconds: a cheaper flavor price or fewer GPUs loses less")
    func moneyNotGPUSeconds() {
        let running = [
            Fixture.running("dear", nodes: ["n1"], checkpoint: -600, price: 3),  // 4800 GPU-s × $3/h = $4.00
            Fixture.running("cheap", nodes: ["n2"], checkpoint: -1_200, price: 1),  // 9600 GPU-s × $1/h = $2.67
        ]
        let decision = Fixture.choose(Fixture.request(), nodes: Array(Self.nodes.prefix(2)), running: running)
        #expect(decision.victimIDs == ["cheap"])
        #expect(decision.victims.map(\.workLost.money) == [9_600 * 1 / 3_600])
    }

    @Test("Work lost: GPUs × replicas × seconds since the checkpoint; one older than the start (a resumed job) counts from the start")
    func workLostFormula() {
        let gang = Fixture.running("gang", gpus: 4, nodes: ["n1", "n1", "n2"], started: -300, checkpoint: -7_200, price: 2.5)
        #expect(
            VictimSelection.workLost(gang, now: Fixture.now)
                == WorkLost(units: 12, unit: .gpu, seconds: 300, unitSeconds: 3_600, money: 3_600 * 2.5 / 3_600))
        let future = Fixture.running("clock-skew", nodes: ["n1"], started: 60)
        #expect(VictimSelection.workLost(future, now: Fixture.now).unitSeconds == 0)
    }

    @Test("Equal work lost: the lower class goes first")
    func tieLowerClass() {
        let running = [
            Fixture.running("a", .normal, nodes: ["n1"], checkpoint: -600),
            Fixture.running("b", .low, nodes: ["n2"], checkpoint: -600),
        ]
        let decision = Fixture.choose(Fixture.request(.high), nodes: Array(Self.nodes.prefix(2)), running: running)
        #expect(decision.victimIDs == ["b"])
    }

    @Test("Equal work lost and class: the most recently started goes first")
    func tieMostRecentlyStarted() {
        let running = [
            Fixture.running("a", nodes: ["n1"], started: -3_600, checkpoint: -600),
            Fixture.running("b", nodes: ["n2"], started: -1_800, checkpoint: -600),
            Fixture.running("c", nodes: ["n3"], started: -7_200, checkpoint: -600),
        ]
        let decision = Fixture.choose(Fixture.request(replicas: 2), nodes: Self.nodes, running: running)
        #expect(decision.victimIDs == ["b", "a"])
    }

    @Test("Everything equal: by job id")
    func tieJobID() {
        let running = [
            Fixture.running("job-b", nodes: ["n1"], checkpoint: -600),
            Fixture.running("job-c", nodes: ["n2"], checkpoint: -600),
            Fixture.running("job-a", nodes: ["n3"], checkpoint: -600),
        ]
        let decision = Fixture.choose(Fixture.request(), nodes: Self.nodes, running: running)
        #expect(decision.victimIDs == ["job-a"])
    }

    @Test("CPU-only jobs are counted in cores × replicas at their price per core-hour")
    func cpuUnits() {
        let nodes = [Fixture.node("c1", flavor: "cpu", gpus: 0, cpu: 64), Fixture.node("c2", flavor: "cpu", gpus: 0, cpu: 64)]
        let running = [
            Fixture.running("x", flavor: "cpu", gpus: 0, cpu: 16, nodes: ["c1", "c1"], checkpoint: -1_800, price: 0.05),  // 32 × 1800 = 57600
            Fixture.running("y", flavor: "cpu", gpus: 0, cpu: 32, nodes: ["c2"], checkpoint: -2_700, price: 0.05),  // 32 × 2700 = 86400
        ]
        let other = ["c1": Resources(gpus: 0, cpu: 32, memoryGiB: 0), "c2": Resources(gpus: 0, cpu: 32, memoryGiB: 0)]
        let decision = Fixture.choose(
            Fixture.request(flavor: "cpu", gpus: 0, cpu: 32), nodes: nodes, running: running, otherUse: other)
        #expect(
            decision.victims == [
                Victim(
                    jobID: "x", tenant: "beta", priorityClass: .low, reason: .lowerPriority,
                    workLost: WorkLost(units: 32, unit: .cpu, seconds: 1_800, unitSeconds: 57_600, money: 57_600 * 0.05 / 3_600))
            ])
        #expect(
            decision.explanation == "stop 1 job for 32 cores of cpu, losing $0.80 of work: x (low, lower class, 57600 core-seconds, $0.80)")
    }
}
