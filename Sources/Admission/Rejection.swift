/// Why a request was rejected: a stable code for programs, the field at fault when there is one,
/// and a sentence for people. Every code is documented in docs/rejection-reasons.md.
public struct Rejection: Sendable, Equatable, Codable, CustomStringConvertible {
    public var code: RejectionCode
    public var field: String?
    public var message: String

    public init(_ code: RejectionCode, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

public enum RejectionCode: String, Sendable, Codable, CaseIterable {
    /// Not JSON, or a field of the wrong JSON type (also dead-lettered).
    case malformedRequest = "malformed_request"
    /// A field is missing, out of bounds, badly formatted, or unknown.
    case invalidSpec = "invalid_spec"
    case unknownTenant = "unknown_tenant"
    case tenantInactive = "tenant_inactive"
    case unknownAgent = "unknown_agent"
    case unknownAgentVersion = "unknown_agent_version"
    case agentVersionDeprecated = "agent_version_deprecated"
    case unknownFlavor = "unknown_flavor"
    /// One replica is bigger than every node of its flavor.
    case exceedsLargestNode = "exceeds_largest_node"
    /// The whole gang needs more than the flavor's pool has.
    case gangExceedsPool = "gang_exceeds_pool"
    case noQuota = "no_quota"
    /// More than nominal plus what can be borrowed from the cohort.
    case exceedsQuota = "exceeds_quota"
    case budgetExhausted = "budget_exhausted"
    case unknownDependency = "unknown_dependency"
}
