import Foundation
import Scheduling
import Testing

@Suite("Quota: nominal, borrowing from the cohort, borrowing limits")
struct QuotaTests {
    static let cluster = [Fixture.node("n1"), Fixture.node("n2"), Fixture.node("n3")]

    @Test("Nominal quota is respected")
    func nominal() throws {
        let acme = Fixture.tenant("acme", quotas: ["gpu-v100": TenantQuota(nominal: 8)])
        let jobs = (1...3).map { Fixture.job($0, gpus: 4, submitted: Double(-100 + $0)) }
        let result = Fixture.schedule(Self.cluster, jobs, policy: Fixture.policy([acme]))
        #expect(result.placedOrder == [1, 2])
        #expect(result.placements.map(\.borrowedUnits) == [0, 0])
        let status = try #require(result.status(3))
        #expect(status.reason.code == .quota)
        #expect(status.reason.message == "tenant acme at quota for gpu-v100 (8/8 GPUs used, nominal 8); no cohort to borrow from; 0 jobs ahead in class normal")
        #expect(status.reason.details == ["used": 8, "nominal": 8, "lendable": 0, "borrowingLimit": 0, "needed": 4, "ahead": 0])
    }

    @Test("Borrowing from an idle cohort peer, up to the borrowing limit, with the borrowed units reported")
    func borrowUpToLimit() throws {
        let acme = Fixture.tenant("acme", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 8, borrowingLimit: 4)])
        let beta = Fixture.tenant("beta", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 8)])
        let jobs = (1...4).map { Fixture.job($0, gpus: 4, submitted: Double(-100 + $0)) }
        let result = Fixture.schedule(Self.cluster, jobs, policy: Fixture.policy([acme, beta]))
        #expect(result.placedOrder == [1, 2, 3])
        #expect(result.placements.map(\.borrowedUnits) == [0, 0, 4])
        let status = try #require(result.status(4))
        #expect(status.reason.code == .quota)
        #expect(
            status.reason.message
                == "tenant acme at quota for gpu-v100 (12/12 GPUs used, nominal 8); cohort research can lend 8, borrowing limit 4; 0 jobs ahead in class normal"
        )
        #expect(status.reason.details == ["used": 12, "nominal": 8, "lendable": 8, "borrowingLimit": 4, "needed": 4, "ahead": 0])
    }

    @Test("A job straddling nominal borrows only the units beyond it")
    func partialBorrow() {
        let acme = Fixture.tenant("acme", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 8, borrowingLimit: 8)])
        let beta = Fixture.tenant("beta", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 8)])
        let nodes = [Fixture.node("n1", used: ResourceVector(gpus: 6, cpu: 6, memoryGiB: 6)), Fixture.node("n2")]
        let running = [Fixture.running(1, gpus: 6, cpu: 6, memory: 6, nodes: ["n1"])]
        let result = Fixture.schedule(nodes, running: running, [Fixture.job(1, gpus: 4)], policy: Fixture.policy([acme, beta]))
        #expect(result.placements == [Placement(jobID: Fixture.id(1), nodes: ["n2"], borrowedUnits: 2)])
    }

    @Test("What the cohort can lend is computed live: a peer placed earlier in the round lends nothing")
    func lendableIsLive() throws {
        let acme = Fixture.tenant("acme", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 0, borrowingLimit: 8)])
        let beta = Fixture.tenant("beta", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 8)])
        let borrower = Fixture.job(1, tenant: "acme", gpus: 4)
        let alone = Fixture.schedule(Self.cluster, [borrower], policy: Fixture.policy([acme, beta]))
        #expect(alone.placements.map(\.borrowedUnits) == [4])

        let peer = Fixture.job(2, tenant: "beta", .high, gpus: 8)
        let result = Fixture.schedule(Self.cluster, [borrower, peer], policy: Fixture.policy([acme, beta]))
        #expect(result.placedOrder == [2])
        let status = try #require(result.status(1))
        #expect(status.reason.message == "tenant acme at quota for gpu-v100 (0/0 GPUs used, nominal 0); cohort research can lend 0; 0 jobs ahead in class normal")
    }

    @Test("No cohort, no borrowing, whatever the borrowing limit")
    func noCohortNoBorrowing() throws {
        let acme = Fixture.tenant("acme", quotas: ["gpu-v100": TenantQuota(nominal: 8, borrowingLimit: 8)])
        let beta = Fixture.tenant("beta", quotas: ["gpu-v100": TenantQuota(nominal: 8)])
        let result = Fixture.schedule(Self.cluster, [Fixture.job(1, gpus: 6, replicas: 2)], policy: Fixture.policy([acme, beta]))
        #expect(result.placements.isEmpty)
        let status = try #require(result.status(1))
        #expect(status.reason.message == "tenant acme at quota for gpu-v100 (0/8 GPUs used, nominal 8, needs 12); no cohort to borrow from; 0 jobs ahead in class normal")
    }

    @Test("CPU flavors count cores × replicas")
    func cpuUnits() throws {
        let acme = Fixture.tenant("acme", quotas: ["cpu": TenantQuota(nominal: 64)])
        let nodes = [Fixture.node("c1", flavor: "cpu", gpus: 0), Fixture.node("c2", flavor: "cpu", gpus: 0)]
        let jobs = (1...3).map { Fixture.job($0, flavor: "cpu", gpus: 0, cpu: 16, replicas: 2, submitted: Double(-100 + $0)) }
        let result = Fixture.schedule(nodes, jobs, policy: Fixture.policy([acme]))
        #expect(result.placedOrder == [1, 2])
        #expect(try #require(result.status(3)).reason.message == "tenant acme at quota for cpu (64/64 cores used, nominal 64); no cohort to borrow from; 0 jobs ahead in class normal")
    }

    @Test("Running replicas on lost nodes do not count against quota")
    func lostReplicasDoNotCount() {
        let acme = Fixture.tenant("acme", quotas: ["gpu-v100": TenantQuota(nominal: 8)])
        let nodes = [Fixture.node("gone", state: .lost, used: ResourceVector(gpus: 8, cpu: 8, memoryGiB: 8)), Fixture.node("n1")]
        let running = [Fixture.running(1, gpus: 8, cpu: 8, memory: 8, nodes: ["gone"])]
        let result = Fixture.schedule(nodes, running: running, [Fixture.job(1, gpus: 8)], policy: Fixture.policy([acme]))
        #expect(result.placements == [Placement(jobID: Fixture.id(1), nodes: ["n1"])])
    }
}
