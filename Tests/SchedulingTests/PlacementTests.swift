import Foundation
import Scheduling
import Testing

@Suite("Placement: best fit, gangs, zones, node states")
struct PlacementTests {
    static func used(_ gpus: Int, cpu: Int = 0, memory: Int = 0) -> ResourceVector {
        ResourceVector(gpus: gpus, cpu: cpu, memoryGiB: memory)
    }

    @Test("Best fit: the node left with the fewest free GPUs, then fewest cores")
    func bestFitByGPUsThenCores() {
        let nodes = [
            Fixture.node("n1"),
            Fixture.node("n2", used: Self.used(5)),
            Fixture.node("n3", used: Self.used(4, cpu: 20)),
            Fixture.node("n4", used: Self.used(4)),
            Fixture.node("n5", used: Self.used(4, cpu: 40)),
        ]
        let jobs = [
            Fixture.job(1, gpus: 3, cpu: 0, memory: 0, submitted: -50), Fixture.job(2, gpus: 2, cpu: 0, memory: 0, submitted: -40),
            Fixture.job(3, gpus: 4, cpu: 0, memory: 0, submitted: -30), Fixture.job(4, gpus: 2, cpu: 0, memory: 0, submitted: -20),
        ]
        let result = Fixture.schedule(nodes, jobs)
        #expect(result.placedOrder == [1, 2, 3, 4])
        #expect(result.nodesByJob == [1: ["n2"], 2: ["n5"], 3: ["n3"], 4: ["n5"]])
    }

    @Test("Best fit ties: least free memory, then node id")
    func bestFitByMemoryThenID() {
        let nodes = [Fixture.node("d"), Fixture.node("c"), Fixture.node("b", memory: 256), Fixture.node("a", memory: 512)]
        let jobs = [Fixture.job(1, gpus: 8, submitted: -20), Fixture.job(2, gpus: 8, submitted: -10), Fixture.job(3, gpus: 8, submitted: -5)]
        let result = Fixture.schedule(nodes, jobs)
        #expect(result.nodesByJob == [1: ["b"], 2: ["c"], 3: ["d"]])
    }

    @Test("CPU-only replicas: best fit by free cores")
    func cpuBestFit() {
        let nodes = [Fixture.node("c1", flavor: "cpu", gpus: 0), Fixture.node("c2", flavor: "cpu", gpus: 0, used: Self.used(0, cpu: 56))]
        let result = Fixture.schedule(nodes, [Fixture.job(1, flavor: "cpu", gpus: 0, cpu: 32)])
        #expect(result.nodesByJob == [1: ["c2"]])
    }

    @Test("Replicas may share a node")
    func replicasShareNodes() {
        let result = Fixture.schedule([Fixture.node("n1"), Fixture.node("n2", used: Self.used(6))], [Fixture.job(1, gpus: 2, replicas: 3)])
        #expect(result.nodesByJob == [1: ["n2", "n1", "n1"]])
    }

    @Test("A gang of 3 with room for 2 places nothing, explains, and leaves the room to the next job")
    func gangAllOrNothing() throws {
        let jobs = [Fixture.job(1, .high, gpus: 8, replicas: 3), Fixture.job(2, gpus: 8)]
        let result = Fixture.schedule([Fixture.node("n1"), Fixture.node("n2")], jobs)
        #expect(result.placements == [Placement(jobID: Fixture.id(2), nodes: ["n1"])])
        let status = try #require(result.status(1))
        #expect(status.reason.code == .capacity)
        #expect(status.reason.message == "needs 3 × 8 GPUs of gpu-v100 all at once; largest free: 1 node with 8 GPUs free; 0 jobs ahead in class high")
        #expect(status.queuePosition == 1)
    }

    @Test("Same-zone gang: the zone leaving the fewest stranded GPUs, never mixed; without sameZone replicas go anywhere")
    func sameZone() {
        let nodes = [
            Fixture.node("a1", zone: "a"), Fixture.node("a2", zone: "a", used: Self.used(4)),
            Fixture.node("b1", zone: "b", used: Self.used(4)), Fixture.node("b2", zone: "b", used: Self.used(4)),
        ]
        let together = Fixture.schedule(nodes, [Fixture.job(1, gpus: 4, replicas: 2, sameZone: true)])
        #expect(together.nodesByJob == [1: ["b1", "b2"]])
        let anywhere = Fixture.schedule(nodes, [Fixture.job(1, gpus: 4, replicas: 2)])
        #expect(anywhere.nodesByJob == [1: ["a2", "b1"]])
    }

    @Test("Same-zone gang that only fits across zones waits, and says so")
    func sameZoneAcrossZonesWaits() throws {
        let nodes = [Fixture.node("a1", zone: "a"), Fixture.node("b1", zone: "b")]
        let result = Fixture.schedule(nodes, [Fixture.job(1, gpus: 8, replicas: 2, sameZone: true)])
        #expect(result.placements.isEmpty)
        #expect(
            try #require(result.status(1)).reason.message
                == "needs 2 × 8 GPUs of gpu-v100 in one zone; largest free: 2 nodes with 8 GPUs free, but not enough in any one zone; 0 jobs ahead in class normal"
        )
    }

    @Test("Cordoned, draining and lost nodes take nothing; a flavor with no ready node says so")
    func nodeStates() throws {
        let nodes = [
            Fixture.node("n1", state: .cordoned), Fixture.node("n2", state: .draining), Fixture.node("n3", state: .lost),
            Fixture.node("n4", used: Self.used(6)), Fixture.node("t1", flavor: "gpu-t4", state: .cordoned, gpus: 2),
        ]
        let jobs = [Fixture.job(1, gpus: 4, submitted: -30), Fixture.job(2, gpus: 1, submitted: -20), Fixture.job(3, flavor: "gpu-t4", gpus: 1, submitted: -10)]
        let result = Fixture.schedule(nodes, jobs)
        #expect(result.placements == [Placement(jobID: Fixture.id(2), nodes: ["n4"])])
        let capacity = try #require(result.status(1))
        #expect(capacity.reason.code == .capacity)
        #expect(capacity.reason.message == "needs 4 GPUs of gpu-v100; largest free: 1 node with 1 GPU free; 0 jobs ahead in class normal")
        let noNodes = try #require(result.status(3))
        #expect(noNodes.reason.code == .noNodes)
        #expect(noNodes.reason.message == "no ready gpu-t4 nodes")
    }

    @Test("A job of a tenant unknown to the policy waits, after every other job")
    func unknownTenant() throws {
        let jobs = [Fixture.job(1, tenant: "ghost", .critical, gpus: 1, submitted: -900), Fixture.job(2, gpus: 16)]
        let result = Fixture.schedule([Fixture.node("n1")], jobs)
        #expect(result.placements.isEmpty)
        let ghost = try #require(result.status(1))
        #expect(ghost.reason.code == .unknownTenant)
        #expect(ghost.reason.message == "tenant ghost is not in the scheduling policy")
        #expect(ghost.queuePosition == 2)
        #expect(ghost.effectiveClass == .critical)
        #expect(try #require(result.status(2)).queuePosition == 1)
    }
}
