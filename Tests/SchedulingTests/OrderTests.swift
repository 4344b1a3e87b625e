import Foundation
import Scheduling
import Testing

@Suite("Order of service: class, aging, weighted DRF, FIFO")
struct OrderTests {
    @Test("Strictly by class: critical, high, normal, low, batch, whatever the submit order")
    func byClass() {
        let jobs = [
            Fixture.job(1, .low, gpus: 4, submitted: -500), Fixture.job(2, .high, gpus: 4, submitted: -10),
            Fixture.job(3, .normal, gpus: 4, submitted: -400), Fixture.job(4, .critical, gpus: 4, submitted: -5),
            Fixture.job(5, .batch, gpus: 4, submitted: -900),
        ]
        let result = Fixture.schedule([Fixture.node("n1")], jobs)
        #expect(result.placedOrder == [4, 2])
        #expect(result.pending.map { Fixture.number($0.jobID) } == [3, 1, 5])
        #expect(result.pending.map(\.queuePosition) == [1, 2, 3])
        #expect(result.pending.map(\.effectiveClass) == [.normal, .low, .batch])
    }

    @Test("Weighted DRF: a tenant of weight 2 gets two placements for each one of a tenant of weight 1")
    func weightedDRF() {
        let tenants = [Fixture.tenant("a", weight: 2), Fixture.tenant("b", weight: 1)]
        var jobs: [PendingJob] = []
        for k in 1...6 {
            jobs.append(Fixture.job(k, tenant: "a", gpus: 1, cpu: 1, memory: 1, submitted: Double(-100 + k)))
            jobs.append(Fixture.job(10 + k, tenant: "b", gpus: 1, cpu: 1, memory: 1, submitted: Double(-200 + k)))
        }
        let result = Fixture.schedule([Fixture.node("n1"), Fixture.node("n2")], jobs, policy: Fixture.policy(tenants))
        // Shares in 32nds (16 GPUs): a = placed/32 × 2 / 2, b = placed × 2 / 32; ties go to "a".
        #expect(result.placedOrder == [1, 11, 2, 3, 12, 4, 5, 13, 6, 14, 15, 16])
        #expect(result.pending.isEmpty)
    }

    @Test("Running replicas count in the share: the tenant already holding GPUs waits for the other to catch up")
    func runningUsageCounts() {
        let tenants = [Fixture.tenant("a"), Fixture.tenant("b")]
        let nodes = [Fixture.node("n1", used: ResourceVector(gpus: 4, cpu: 4, memoryGiB: 4)), Fixture.node("n2")]
        let running = [Fixture.running(1, tenant: "a", gpus: 4, cpu: 4, memory: 4, nodes: ["n1"])]
        var jobs: [PendingJob] = []
        for k in 1...3 {
            jobs.append(Fixture.job(k, tenant: "a", gpus: 1, cpu: 1, memory: 1, submitted: Double(-100 + k)))
            jobs.append(Fixture.job(10 + k, tenant: "b", gpus: 1, cpu: 1, memory: 1, submitted: Double(-200 + k)))
        }
        let result = Fixture.schedule(nodes, running: running, jobs, policy: Fixture.policy(tenants))
        // a holds 4/16; b catches up to 3/16 first, then a goes on.
        #expect(result.placedOrder == [11, 12, 13, 1, 2, 3])
    }

    @Test("Within a tenant: by submit time, then id")
    func fifoWithinTenant() {
        let jobs = [
            Fixture.job(1, gpus: 1, submitted: -30), Fixture.job(2, gpus: 1, submitted: -90), Fixture.job(3, gpus: 1, submitted: -60),
            Fixture.job(5, gpus: 1, submitted: -120), Fixture.job(4, gpus: 1, submitted: -120),
        ]
        let result = Fixture.schedule([Fixture.node("n1")], jobs)
        #expect(result.placedOrder == [4, 5, 2, 3, 1])
    }

    @Test("Aging: a batch job waiting 3 hours (one class per hour) goes before a new normal one")
    func aging() {
        let jobs = [
            Fixture.job(1, .batch, gpus: 8, submitted: -3 * 3_600 - 1),  // batch + 3 = high
            Fixture.job(2, .normal, gpus: 8, submitted: -60),  // normal
            Fixture.job(3, .batch, gpus: 8, submitted: -5_400),  // batch + 1 = low
            Fixture.job(4, .low, gpus: 8, submitted: -20 * 3_600),  // capped at critical
        ]
        let result = Fixture.schedule([Fixture.node("n1"), Fixture.node("n2")], jobs, policy: Fixture.policy(aging: 3_600))
        #expect(result.placedOrder == [4, 1])
        #expect(result.pending.map { Fixture.number($0.jobID) } == [2, 3])
        #expect(result.pending.map(\.effectiveClass) == [.normal, .low])

        let withoutAging = Fixture.schedule([Fixture.node("n1"), Fixture.node("n2")], jobs, policy: Fixture.policy(aging: nil))
        #expect(withoutAging.placedOrder == [2, 4])
    }
}
