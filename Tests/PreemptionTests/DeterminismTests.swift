import Preemption
import Testing

@Suite("Determinism and minimality on a larger cluster")
struct DeterminismTests {
    /// 12 nodes in 3 zones; 24 jobs of varied size, class, tenant, age and checkpoint, with cost ties.
    static func scenario() -> (nodes: [PreemptionNode], running: [RunningJob]) {
        let nodes: [PreemptionNode] = (0..<12).map { k in Fixture.node("n\(k)", zone: "z\(k % 3)") }
        let classes: [PriorityClass] = [.batch, .low, .normal, .high]
        var running: [RunningJob] = []
        for k in 0..<24 {
            let started: Double = -600 - Double((k % 5) * 300)
            let checkpoint: Double? = k % 3 == 0 ? nil : -60 * Double(k % 7 + 1)
            let tenant = k % 4 == 0 ? "acme" : "beta"
            running.append(
                Fixture.running(
                    "job-\(k)", tenant: tenant, classes[k % 4], gpus: 4, nodes: ["n\(k / 2)"], started: started, checkpoint: checkpoint,
                    borrowing: k % 5 == 0))
        }
        return (nodes, running)
    }

    /// Five 4-GPU replicas in one zone: zones 1 and 2 can each free five slots, one of them only by
    /// reclaiming a borrowing job of higher class.
    static let request = Fixture.request(.normal, gpus: 4, replicas: 5, sameZone: true, underNominal: true)

    static func permutations<T>(_ items: [T]) -> [[T]] {
        let third = items.count / 3
        let rotated: [T] = Array(items[third...]) + Array(items[..<third])
        let evens: [T] = stride(from: 0, to: items.count, by: 2).map { items[$0] }
        let odds: [T] = stride(from: 1, to: items.count, by: 2).map { items[$0] }
        return [items, items.reversed(), rotated, evens + odds]
    }

    @Test("The same inputs in any order give the same decision")
    func orderIndependent() {
        let (nodes, running) = Self.scenario()
        let expected = Fixture.choose(Self.request, nodes: nodes, running: running)
        // Cost order: 8 and 1 (480 GPU-s, batch before low), 16, 17 and 10 (960, low before normal), 4, 5, ...
        // Taken until zone z2 has five slots: 8 (z1), 1 (z0), 16, 17, 10, 4, 5 (z2); 1 and 8 are then dropped.
        #expect(expected.victimIDs == ["job-16", "job-17", "job-10", "job-4", "job-5"])
        #expect(expected.victims.map(\.reason) == [.lowerPriority, .lowerPriority, .reclaimBorrowed, .lowerPriority, .lowerPriority])
        let cluster = Fixture.cluster(nodes, running: running)
        for someNodes in Self.permutations(cluster) {
            for someJobs in Self.permutations(running) {
                let decision = VictimSelection.choose(for: Self.request, nodes: someNodes, running: someJobs, policy: Fixture.policy())
                #expect(decision == expected)
            }
        }
    }

    @Test("Victims come in cost order and none of them could be spared")
    func minimal() {
        let (nodes, running) = Self.scenario()
        let decision = Fixture.choose(Self.request, nodes: nodes, running: running)
        let money = decision.victims.map(\.workLost.money)
        #expect(money == money.sorted())
        let ids = Set(decision.victimIDs)
        #expect(Fixture.choose(Self.request, nodes: nodes, running: running, alreadyPreempting: ids).outcome == .waitingForPreemptions)
        for victim in ids {
            let others = ids.subtracting([victim])
            #expect(
                Fixture.choose(Self.request, nodes: nodes, running: running, alreadyPreempting: others).outcome != .waitingForPreemptions)
        }
    }
}
