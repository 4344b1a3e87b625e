import Admission
import AgentCore
import Foundation
import Testing

/// The decision itself, without services: fed plain values.
@Suite("Admission policy (pure)")
struct AdmissionPolicyTests {
    static let catalog = Catalog(
        flavors: [
            Flavor(name: "gpu-v100", quotaUnit: .gpu, pricePerUnitHour: Decimal(string: "2.48")!, batchDiscount: Decimal(string: "0.3")!),
            Flavor(name: "cpu", quotaUnit: .cpu, pricePerUnitHour: Decimal(string: "0.04")!),
        ],
        pools: [
            NodePool(name: "v100-small", flavor: "gpu-v100", nodes: 2, gpus: 8, cpu: 96, memoryGiB: 384),
            NodePool(name: "v100-big", flavor: "gpu-v100", nodes: 1, gpus: 8, cpu: 96, memoryGiB: 512),
            NodePool(name: "cpu", flavor: "cpu", nodes: 4, gpus: 0, cpu: 96, memoryGiB: 512),
        ])
    static let version = AgentVersionRecord(
        tenant: "acme", agent: "trainer", version: "1", image: "trainer:1", framework: .pytorch,
        defaultResources: ResourceOverrides(flavor: "gpu-v100", gpus: 1, cpu: 8, memoryGiB: 64))
    static let tenant = TenantRecord(
        name: "acme", cohort: "research", monthlyBudget: 1_000, totalBudget: 5_000,
        quotas: ["gpu-v100": Quota(nominal: 8, borrowingLimit: 8), "cpu": Quota(nominal: 96)])

    func context(tenant: TenantRecord? = tenant, cohort: [String: Int] = ["gpu-v100": 4], month: Decimal = 0, total: Decimal = 0) -> AdmissionContext {
        AdmissionContext(
            tenant: tenant, agentVersions: [Self.version], catalog: Self.catalog, cohortNominal: cohort, reservedThisMonth: month,
            reservedTotal: total)
    }

    func spec(_ change: (inout JobSpec) -> Void = { _ in }) -> JobSpec {
        var spec = JobSpec(tenant: "acme", agent: "trainer", agentVersion: "1", maxRuntimeSeconds: 3_600)
        change(&spec)
        return spec
    }

    func reasons(_ decision: AdmissionDecision) -> [Rejection] {
        if case .rejected(let reasons) = decision { return reasons }
        return []
    }

    @Test("A fitting request is admitted with the agent's default resources and its projected cost")
    func admits() throws {
        let id = UUID()
        let decision = AdmissionPolicy.decide(spec: spec { $0.replicas = 2 }, problems: [], context: context(), jobID: id)
        guard case .admitted(let job) = decision else {
            Issue.record("rejected: \(reasons(decision))")
            return
        }
        #expect(job.id == id)
        #expect(job.resources == Resources(flavor: "gpu-v100", gpus: 1, cpu: 8, memoryGiB: 64))
        #expect(job.projectedCost == Decimal(string: "4.96")!)  // 2 replicas × 1 GPU × 1 h × $2.48
    }

    @Test("The batch class gets the flavor's discount")
    func batchDiscount() {
        let batch = spec { $0.priorityClass = .batch; $0.maxRuntimeSeconds = 10 * 3_600 }
        let flavor = Self.catalog.flavor(named: "gpu-v100")!
        #expect(AdmissionPolicy.projectedCost(batch, Resources(flavor: "gpu-v100", gpus: 2, cpu: 1, memoryGiB: 1), flavor) == Decimal(string: "34.72")!)
    }

    @Test("Admitted jobs carry the cost computed afresh for their shape, class and runtime, however many share it")
    func rememberedCostsMatch() throws {
        let flavor = Self.catalog.flavor(named: "gpu-v100")!
        for replicas in [1, 2, 3] {
            for seconds in [60, 3_600, 12_345] {
                for priority in [PriorityClass.batch, .normal] {
                    for _ in 0..<2 {  // the second time from memory
                        let job = spec { $0.replicas = replicas; $0.maxRuntimeSeconds = seconds; $0.priorityClass = priority }
                        guard case .admitted(let admitted) = AdmissionPolicy.decide(spec: job, problems: [], context: context(), jobID: UUID()) else {
                            Issue.record("rejected")
                            continue
                        }
                        let fresh = AdmissionPolicy.projectedCost(job, admitted.resources, flavor)
                        #expect(admitted.projectedCost == fresh)
                        #expect(admitted.projectedCostText == fresh.moneyText)
                    }
                }
            }
        }
    }

    @Test("Borrowing is bounded by both the borrowing limit and what the cohort has")
    func borrowing() {
        // nominal 8 + min(limit 8, cohort 4) = 12 GPUs at most.
        let twelve = spec { $0.replicas = 12 }
        #expect(reasons(AdmissionPolicy.decide(spec: twelve, problems: [], context: context(), jobID: UUID())).isEmpty)
        let thirteen = spec { $0.replicas = 13 }
        let rejected = reasons(AdmissionPolicy.decide(spec: thirteen, problems: [], context: context(), jobID: UUID()))
        #expect(rejected.map(\.code) == [.exceedsQuota])
        #expect(rejected.first?.message == "the job needs 13 GPUs of gpu-v100; tenant acme can hold at most 12 (nominal 8 + borrowable 4)")
        let alone = reasons(AdmissionPolicy.decide(spec: twelve, problems: [], context: context(cohort: [:]), jobID: UUID()))
        #expect(alone.map(\.code) == [.exceedsQuota], "without cohort peers nothing can be borrowed")
    }

    @Test("Fit is judged per node shape: 400 GiB fits only the big V100 node; the gang counts replicas per node")
    func nodeShapes() {
        let big = spec { $0.resources = ResourceOverrides(gpus: 4, memoryGiB: 200); $0.replicas = 2 }
        #expect(reasons(AdmissionPolicy.decide(spec: big, problems: [], context: context(), jobID: UUID())).isEmpty)
        let tooBig = spec { $0.resources = ResourceOverrides(gpus: 1, memoryGiB: 600) }
        #expect(reasons(AdmissionPolicy.decide(spec: tooBig, problems: [], context: context(), jobID: UUID())).map(\.code) == [.exceedsLargestNode])
        // 400 GiB per replica: only the one 512 GiB node, one replica each → a gang of 2 cannot fit.
        let gang = spec { $0.resources = ResourceOverrides(gpus: 1, memoryGiB: 400); $0.replicas = 2 }
        let rejected = reasons(AdmissionPolicy.decide(spec: gang, problems: [], context: context(), jobID: UUID()))
        #expect(rejected.map(\.code) == [.gangExceedsPool])
        #expect(rejected.first?.message.contains("holds at most 1 such replicas") == true)
    }

    @Test("Budgets count what is already reserved, monthly and in total, and name both numbers")
    func budget() {
        let rejected = reasons(AdmissionPolicy.decide(spec: spec(), problems: [], context: context(month: 999, total: 10), jobID: UUID()))
        #expect(rejected.map(\.code) == [.budgetExhausted])
        #expect(
            rejected.first?.message
                == "projected cost $2.48 (1 × 1 GPU(s) × 1 h max runtime at $2.48/GPU-hour) would bring tenant acme to $1001.48 this month, over its monthly budget of $1000.00")
        let both = reasons(AdmissionPolicy.decide(spec: spec(), problems: [], context: context(month: 999, total: 4_999), jobID: UUID()))
        #expect(both.count == 2)
        #expect(reasons(AdmissionPolicy.decide(spec: spec(), problems: [], context: context(month: 997.52), jobID: UUID())).isEmpty, "exactly at the limit is allowed")
        // A tenant whose budget is already spent (metered cost counts as committed) is told so.
        let spent = reasons(AdmissionPolicy.decide(spec: spec(), problems: [], context: context(month: 1_000.07), jobID: UUID()))
        #expect(
            spent.first?.message
                == "tenant acme has no monthly budget left: $1000.07 of $1000.00 is spent or reserved by admitted jobs (agentctl cost budgets); this job would cost up to $2.48 (1 × 1 GPU(s) × 1 h max runtime at $2.48/GPU-hour)")
    }

    @Test("Every reason is reported, not just the first")
    func everyReason() {
        var inactive = Self.tenant
        inactive.active = false
        let request = spec { $0.replicas = 40; $0.dependsOn = [UUID()] }
        let problems = [FieldProblem(field: "labels.Bad Key", message: "is not a valid label key")]
        let codes = reasons(AdmissionPolicy.decide(spec: request, problems: problems, context: context(tenant: inactive, month: 950), jobID: UUID())).map(\.code)
        #expect(codes == [.invalidSpec, .tenantInactive, .gangExceedsPool, .exceedsQuota, .budgetExhausted, .unknownDependency])
    }

    @Test("Missing resources with no default are named field by field")
    func missingDefaults() {
        let bare = AgentVersionRecord(tenant: "acme", agent: "trainer", version: "1", image: "t", framework: .custom)
        let context = AdmissionContext(tenant: Self.tenant, agentVersions: [bare], catalog: Self.catalog)
        let rejected = reasons(AdmissionPolicy.decide(spec: spec(), problems: [], context: context, jobID: UUID()))
        #expect(rejected.map(\.field) == ["resources.flavor", "resources.cpu", "resources.memory_gib"])
        #expect(rejected.first?.message == "resources.flavor is required (agent version trainer@1 has no default)")
    }
}
