import AgentCore
import Foundation

/// A tenant as admission sees it.
public struct TenantRecord: Sendable, Equatable, Codable {
    public var name: String
    public var weight: Decimal
    public var cohort: String?
    public var monthlyBudget: Decimal?
    public var totalBudget: Decimal?
    public var active: Bool
    /// By flavor, in the flavor's quota unit.
    public var quotas: [String: Quota]

    public init(
        name: String, weight: Decimal = 1, cohort: String? = nil, monthlyBudget: Decimal? = nil, totalBudget: Decimal? = nil,
        active: Bool = true, quotas: [String: Quota] = [:]
    ) {
        self.name = name
        self.weight = weight
        self.cohort = cohort
        self.monthlyBudget = monthlyBudget
        self.totalBudget = totalBudget
        self.active = active
        self.quotas = quotas
    }
}

/// Guaranteed (nominal) units, and how many more may be borrowed from the cohort.
public struct Quota: Sendable, Equatable, Codable {
    public var nominal: Int
    public var borrowingLimit: Int

    public init(nominal: Int, borrowingLimit: Int = 0) {
        self.nominal = nominal
        self.borrowingLimit = borrowingLimit
    }

    enum CodingKeys: String, CodingKey {
        case nominal
        case borrowingLimit = "borrowing_limit"
    }
}

public enum Framework: String, Sendable, Codable, CaseIterable {
    case pytorch, tensorflow, jax, custom
}

/// One immutable version of an agent.
public struct AgentVersionRecord: Sendable, Equatable, Codable {
    public var tenant: String
    public var agent: String
    public var version: String
    public var image: String?
    public var command: String?
    public var framework: Framework
    public var defaultResources: ResourceOverrides
    public var checkpoints: Bool
    public var deprecated: Bool
    public var createdBy: String
    public var createdAt: Date

    public init(
        tenant: String, agent: String, version: String, image: String? = nil, command: String? = nil,
        framework: Framework, defaultResources: ResourceOverrides = ResourceOverrides(), checkpoints: Bool = false,
        deprecated: Bool = false, createdBy: String = "test", createdAt: Date = Date()
    ) {
        self.tenant = tenant
        self.agent = agent
        self.version = version
        self.image = image
        self.command = command
        self.framework = framework
        self.defaultResources = defaultResources
        self.checkpoints = checkpoints
        self.deprecated = deprecated
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}
