import AgentCore
import Foundation
import Postgres

/// Everything the admission decision needs to know, read in the decision's transaction.
public struct AdmissionContext: Sendable {
    public var tenant: TenantRecord?
    /// Every version of the requested agent in the tenant; empty when the agent does not exist.
    public var agentVersions: [AgentVersionRecord]
    /// The agent's default version (`agentctl agents rollback`), for a spec that names no version;
    /// nil: the newest version that is not deprecated.
    public var defaultVersion: String?
    public var catalog: Catalog
    /// By flavor: the nominal quota of the tenant's cohort peers (what could ever be lent to it).
    public var cohortNominal: [String: Int]
    /// Money already reserved by this tenant's admitted jobs, this month and in total.
    public var reservedThisMonth: Decimal
    public var reservedTotal: Decimal
    /// Jobs named in `depends_on` that exist, with their tenant.
    public var dependencies: [UUID: String]

    public init(
        tenant: TenantRecord?, agentVersions: [AgentVersionRecord], catalog: Catalog, cohortNominal: [String: Int] = [:],
        reservedThisMonth: Decimal = 0, reservedTotal: Decimal = 0, dependencies: [UUID: String] = [:], defaultVersion: String? = nil
    ) {
        self.tenant = tenant
        self.agentVersions = agentVersions
        self.defaultVersion = defaultVersion
        self.catalog = catalog
        self.cohortNominal = cohortNominal
        self.reservedThisMonth = reservedThisMonth
        self.reservedTotal = reservedTotal
        self.dependencies = dependencies
    }
}

/// A job admission accepted: its spec with resources completed, and the money it reserves.
public struct AdmittedJob: Sendable, Equatable {
    public var id: UUID
    public var spec: JobSpec
    public var resources: Resources
    public var projectedCost: Decimal {
        didSet { projectedCostText = projectedCost.moneyText }
    }
    /// `projectedCost.moneyText`, written into the job's row, event and reply.
    public private(set) var projectedCostText: String

    public init(id: UUID, spec: JobSpec, resources: Resources, projectedCost: Decimal, projectedCostText: String? = nil) {
        self.id = id
        self.spec = spec
        self.resources = resources
        self.projectedCost = projectedCost
        self.projectedCostText = projectedCostText ?? projectedCost.moneyText
    }
}

public enum AdmissionDecision: Sendable, Equatable {
    case admitted(AdmittedJob)
    case rejected([Rejection])
}

/// The admission decision: a pure function of the request and what the database said, so it can
/// be tested and replayed without I/O. It lists every reason to reject, not only the first.
public enum AdmissionPolicy {
    public static func decide(spec: JobSpec, problems: [FieldProblem], context: AdmissionContext, jobID: UUID) -> AdmissionDecision {
        var spec = spec
        if spec.agentVersion.isEmpty, let version = defaultVersion(context) { spec.agentVersion = version }
        var reasons = problems.map { Rejection(.invalidSpec, field: $0.field, "\($0.field) \($0.message)") }

        guard let tenant = context.tenant else {
            reasons.append(Rejection(.unknownTenant, field: "tenant", "tenant \"\(spec.tenant)\" does not exist"))
            return .rejected(reasons)
        }
        if !tenant.active {
            reasons.append(Rejection(.tenantInactive, field: "tenant", "tenant \(tenant.name) is not active; it cannot submit jobs"))
        }

        let version = checkAgent(spec, context, &reasons)
        guard let resources = resolveResources(spec, version, context, &reasons) else { return .rejected(reasons) }
        guard let flavor = context.catalog.flavor(named: resources.flavor) else {
            let known = context.catalog.flavors.map(\.name).joined(separator: ", ")
            reasons.append(Rejection(.unknownFlavor, field: "resources.flavor", "flavor \(resources.flavor) does not exist (flavors: \(known))"))
            return .rejected(reasons)
        }
        checkCapacity(spec, resources, flavor, context.catalog, &reasons)
        checkQuota(spec, resources, flavor, tenant, context, &reasons)
        let cost = ProjectedCosts.cost(spec, resources, flavor)
        checkBudget(cost.amount, spec, resources, flavor, tenant, context, &reasons)
        checkDependencies(spec, tenant, context, &reasons)

        guard reasons.isEmpty else { return .rejected(reasons) }
        return .admitted(AdmittedJob(id: jobID, spec: spec, resources: resources, projectedCost: cost.amount, projectedCostText: cost.text))
    }

    /// What a spec naming no version runs: the agent's default, else its newest current version.
    static func defaultVersion(_ context: AdmissionContext) -> String? {
        context.defaultVersion ?? context.agentVersions.last(where: { !$0.deprecated })?.version
    }

    /// Max runtime × rate × replicas, with the batch discount; rounded to cents.
    public static func projectedCost(_ spec: JobSpec, _ resources: Resources, _ flavor: Flavor) -> Decimal {
        let units = Decimal(flavor.units(of: resources) * spec.replicas)
        let hours = Decimal(spec.maxRuntimeSeconds) / 3600
        let discount: Decimal = spec.priorityClass == .batch ? 1 - flavor.batchDiscount : 1
        return (units * hours * flavor.pricePerUnitHour * discount).cents
    }

    private static func checkAgent(_ spec: JobSpec, _ context: AdmissionContext, _ reasons: inout [Rejection]) -> AgentVersionRecord? {
        guard !context.agentVersions.isEmpty else {
            reasons.append(
                Rejection(.unknownAgent, field: "agent", "tenant \(spec.tenant) has no agent named \"\(spec.agent)\" (register it with agentctl agents register)"))
            return nil
        }
        if spec.agentVersion.isEmpty {
            reasons.append(
                Rejection(.unknownAgentVersion, field: "agent", "agent \(spec.agent) has no current version to run by default (all are deprecated)"))
            return nil
        }
        guard let version = context.agentVersions.first(where: { $0.version == spec.agentVersion }) else {
            let available = context.agentVersions.map(\.version).joined(separator: ", ")
            reasons.append(
                Rejection(.unknownAgentVersion, field: "agent", "agent \(spec.agent) has no version \(spec.agentVersion) (versions: \(available))"))
            return nil
        }
        if version.deprecated {
            let current = context.agentVersions.filter { !$0.deprecated }.map(\.version)
            let hint = current.isEmpty ? "it has no current version" : "current: \(current.joined(separator: ", "))"
            reasons.append(
                Rejection(.agentVersionDeprecated, field: "agent", "\(spec.agent)@\(spec.agentVersion) is deprecated (\(hint))"))
        }
        return version
    }

    /// The request's resources, completed from the agent version's defaults.
    private static func resolveResources(
        _ spec: JobSpec, _ version: AgentVersionRecord?, _ context: AdmissionContext, _ reasons: inout [Rejection]
    ) -> Resources? {
        let defaults = version?.defaultResources ?? ResourceOverrides()
        let source = version.map { "agent version \($0.agent)@\($0.version) has no default" } ?? "no agent version to take a default from"
        var missing: [String] = []
        let flavor = spec.resources.flavor ?? defaults.flavor
        let gpus = spec.resources.gpus ?? defaults.gpus ?? 0
        let cpu = spec.resources.cpu ?? defaults.cpu
        let memory = spec.resources.memoryGiB ?? defaults.memoryGiB
        if flavor == nil { missing.append("flavor") }
        if cpu == nil { missing.append("cpu") }
        if memory == nil { missing.append("memory_gib") }
        guard let flavor, let cpu, let memory else {
            // Without a version the agent reason already explains the request; do not pile on.
            if version != nil {
                for field in missing {
                    reasons.append(Rejection(.invalidSpec, field: "resources.\(field)", "resources.\(field) is required (\(source))"))
                }
            }
            return nil
        }
        return Resources(flavor: flavor, gpus: gpus, cpu: cpu, memoryGiB: memory)
    }

    private static func checkCapacity(
        _ spec: JobSpec, _ resources: Resources, _ flavor: Flavor, _ catalog: Catalog, _ reasons: inout [Rejection]
    ) {
        let pools = catalog.pools(of: flavor.name)
        let replica = "\(resources.gpus) GPU(s), \(resources.cpu) cores, \(resources.memoryGiB) GiB"
        guard let largest = pools.max(by: { ($0.gpus, $0.cpu, $0.memoryGiB) < ($1.gpus, $1.cpu, $1.memoryGiB) }), largest.nodes > 0 else {
            reasons.append(Rejection(.exceedsLargestNode, field: "resources", "flavor \(flavor.name) has no nodes"))
            return
        }
        let perNode = pools.map { ($0, $0.replicasPerNode(resources)) }
        guard perNode.contains(where: { $0.1 > 0 }) else {
            reasons.append(
                Rejection(
                    .exceedsLargestNode, field: "resources",
                    "one replica needs \(replica); the largest \(flavor.name) node has \(largest.gpus) GPU(s), \(largest.cpu) cores, \(largest.memoryGiB) GiB"))
            return
        }
        let placeable = perNode.reduce(0) { $0 + $1.0.nodes * $1.1 }
        if spec.replicas > placeable {
            reasons.append(
                Rejection(
                    .gangExceedsPool, field: "replicas",
                    "the gang of \(spec.replicas) replicas (\(replica) each) cannot fit: the whole \(flavor.name) pool holds at most \(placeable) such replicas"))
        }
    }

    private static func checkQuota(
        _ spec: JobSpec, _ resources: Resources, _ flavor: Flavor, _ tenant: TenantRecord, _ context: AdmissionContext,
        _ reasons: inout [Rejection]
    ) {
        let needed = flavor.units(of: resources) * spec.replicas
        guard needed > 0 else { return }
        let quota = tenant.quotas[flavor.name] ?? Quota(nominal: 0)
        let borrowable = min(quota.borrowingLimit, context.cohortNominal[flavor.name] ?? 0)
        if quota.nominal + borrowable == 0 {
            reasons.append(
                Rejection(.noQuota, field: "resources.flavor", "tenant \(tenant.name) has no quota for \(flavor.name) (agentctl tenants set-quota)"))
        } else if needed > quota.nominal + borrowable {
            reasons.append(
                Rejection(
                    .exceedsQuota, field: "replicas",
                    "the job needs \(needed) \(flavor.unitName)s of \(flavor.name); tenant \(tenant.name) can hold at most \(quota.nominal + borrowable) (nominal \(quota.nominal) + borrowable \(borrowable))"))
        }
    }

    private static func checkBudget(
        _ cost: Decimal, _ spec: JobSpec, _ resources: Resources, _ flavor: Flavor, _ tenant: TenantRecord,
        _ context: AdmissionContext, _ reasons: inout [Rejection]
    ) {
        // Only a rejection shows it: built then, not for every job admitted.
        var basis: String {
            "\(spec.replicas) × \(flavor.units(of: resources)) \(flavor.unitName)(s) × \(formatHours(spec.maxRuntimeSeconds)) max runtime at $\(flavor.pricePerUnitHour.moneyText)/\(flavor.unitName)-hour"
        }
        for (budget, committed, scope, span) in [
            (tenant.monthlyBudget, context.reservedThisMonth, "monthly", "this month"), (tenant.totalBudget, context.reservedTotal, "total", "in total"),
        ] {
            guard let budget, committed + cost > budget else { continue }
            if committed >= budget, cost > 0 {
                // Nothing can fit: say so rather than how far over this one job would go.
                reasons.append(
                    Rejection(
                        .budgetExhausted, field: "max_runtime",
                        "tenant \(tenant.name) has no \(scope) budget left: $\(committed.moneyText) of $\(budget.moneyText) is spent or reserved by admitted jobs (agentctl cost budgets); this job would cost up to $\(cost.moneyText) (\(basis))"))
            } else {
                reasons.append(
                    Rejection(
                        .budgetExhausted, field: "max_runtime",
                        "projected cost $\(cost.moneyText) (\(basis)) would bring tenant \(tenant.name) to $\((committed + cost).moneyText) \(span), over its \(scope) budget of $\(budget.moneyText)"))
            }
        }
    }

    private static func checkDependencies(_ spec: JobSpec, _ tenant: TenantRecord, _ context: AdmissionContext, _ reasons: inout [Rejection]) {
        for (index, dependency) in spec.dependsOn.enumerated() {
            let field = "depends_on[\(index)]"
            switch context.dependencies[dependency] {
            case nil:
                reasons.append(Rejection(.unknownDependency, field: field, "job \(dependency.lowercaseText) does not exist"))
            case let owner? where owner != tenant.name:
                reasons.append(
                    Rejection(.unknownDependency, field: field, "job \(dependency.lowercaseText) belongs to another tenant"))
            default:
                continue
            }
        }
    }

    static func formatHours(_ seconds: Int) -> String {
        seconds % 3600 == 0 ? "\(seconds / 3600) h" : String(format: "%.2f h", Double(seconds) / 3600)
    }
}
