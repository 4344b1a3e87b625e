import Foundation
import Scheduling
import Testing

@Suite("Explanations: reasons, queue positions, effective classes")
struct ExplanationTests {
    /// gpu-v100: n1 half used by beta until +2h, n2 free; gpu-t4: one cordoned node.
    /// acme and beta share cohort research; acme may not borrow.
    static func scenario() -> SchedulingResult {
        let nodes = [
            Fixture.node("n1", used: ResourceVector(gpus: 4, cpu: 4, memoryGiB: 32)), Fixture.node("n2"),
            Fixture.node("t1", flavor: "gpu-t4", state: .cordoned, gpus: 2),
        ]
        let running = [Fixture.running(1, tenant: "beta", gpus: 4, nodes: ["n1"], endsIn: 7_200)]
        let tenants = [
            Fixture.tenant("acme", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 12)]),
            Fixture.tenant("beta", cohort: "research", quotas: ["gpu-v100": TenantQuota(nominal: 16)]),
        ]
        let jobs = [
            Fixture.job(1, tenant: "acme", .high, gpus: 8, submitted: -100),  // placed on n2
            Fixture.job(2, tenant: "acme", .high, gpus: 8, submitted: -90),  // over acme's quota
            Fixture.job(3, tenant: "beta", .normal, gpus: 4, replicas: 2, submitted: -85),  // blocked: reserves n1 + n2 at +1h
            Fixture.job(4, tenant: "acme", .normal, gpus: 4, submitted: -80, runtime: 7_200),  // would delay job 3
            Fixture.job(5, tenant: "acme", .low, flavor: "gpu-t4", gpus: 1, submitted: -70),  // no ready node
            Fixture.job(6, tenant: "ghost", .batch, gpus: 1, submitted: -65),  // unknown tenant
            Fixture.job(7, tenant: "acme", .low, gpus: 2, submitted: -60, runtime: 1_800),  // backfilled on n1
        ]
        return Fixture.schedule(nodes, running: running, jobs, policy: Fixture.policy(tenants))
    }

    @Test("Placements of the scenario")
    func placements() {
        #expect(
            Self.scenario().placements == [
                Placement(jobID: Fixture.id(1), nodes: ["n2"]), Placement(jobID: Fixture.id(7), nodes: ["n1"], backfilled: true),
            ])
    }

    @Test("Every pending job: position, class, code and message")
    func reasons() {
        let pending = Self.scenario().pending
        let rows = pending.map { "\($0.queuePosition) \(Fixture.number($0.jobID)) \($0.effectiveClass.name) \($0.reason.code.rawValue): \($0.reason.message)" }
        #expect(
            rows == [
                "1 2 high quota: tenant acme at quota for gpu-v100 (10/12 GPUs used, nominal 12, needs 8); cohort research can lend 12, borrowing limit 0; 0 jobs ahead in class high",
                "2 3 normal queued: needs 2 × 4 GPUs of gpu-v100 all at once; higher-ranked jobs took the free capacity this round; largest free: 1 node with 2 GPUs free; reserved to start by 2027-01-15T09:00:00.000Z; 0 jobs ahead in class normal",
                "3 4 normal reserved: waiting for capacity reserved for job 00000003-0000-4000-8000-000000000003 (starts by 2027-01-15T09:00:00.000Z)",
                "4 5 low noNodes: no ready gpu-t4 nodes",
                "5 6 batch unknownTenant: tenant ghost is not in the scheduling policy",
            ])
    }

    @Test("Details carry the numbers behind the messages")
    func details() throws {
        let result = Self.scenario()
        #expect(
            try #require(result.status(2)).reason.details == [
                "used": 10, "nominal": 12, "lendable": 12, "borrowingLimit": 0, "needed": 8, "ahead": 0,
            ])
        #expect(
            try #require(result.status(3)).reason.details == [
                "replicas": 2, "perReplica": 4, "largestFree": 2, "nodesWithLargestFree": 1, "ahead": 0, "startsBy": 1_800_003_600,
            ])
        #expect(try #require(result.status(4)).reason.details == ["startsBy": 1_800_003_600, "ahead": 1])
    }

    @Test("The same inputs in any order give the same decision")
    func orderOfInputsDoesNotMatter() {
        let nodes = (1...12).map { Fixture.node("n\($0)", zone: "z\($0 % 3)", used: ResourceVector(gpus: $0 % 8, cpu: $0, memoryGiB: $0)) }
        let tenants = [Fixture.tenant("a", weight: 2), Fixture.tenant("b"), Fixture.tenant("c", weight: 0.5)]
        let classes = SchedulingClass.allCases
        let jobs = (1...60).map {
            Fixture.job(
                $0, tenant: ["a", "b", "c"][$0 % 3], classes[$0 % 5], gpus: 1 + $0 % 8, replicas: 1 + $0 % 3, sameZone: $0 % 4 == 0,
                submitted: Double(-($0 * 37 % 11)), runtime: 600 * (1 + $0 % 7))
        }
        let first = Fixture.schedule(nodes, jobs, policy: Fixture.policy(tenants, aging: 3_600))
        var generator = SplitMix(seed: 7)
        for _ in 0..<3 {
            let again = Fixture.schedule(
                nodes.shuffled(using: &generator), jobs.shuffled(using: &generator), policy: Fixture.policy(tenants, aging: 3_600))
            #expect(again.placements == first.placements)
            #expect(again.pending == first.pending)
        }
        #expect(first.placements.count + first.pending.count == jobs.count)
    }
}

/// A small deterministic generator for shuffles in tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
