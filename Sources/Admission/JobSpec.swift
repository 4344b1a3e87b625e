import AgentCore
import Foundation

/// A job request as the submitter wrote it, after decoding (see docs/job-spec.md). Resources may be
/// partial: what is missing comes from the agent version's defaults at admission.
public struct JobSpec: Sendable, Equatable, Codable {
    public var tenant: String
    /// Agent name and version, from `"agent": "name@version"`.
    public var agent: String
    public var agentVersion: String
    public var name: String?
    public var priorityClass: PriorityClass
    /// Gang size: every replica is placed at once or none is.
    public var replicas: Int
    /// Per replica; nil fields are taken from the agent version's default resources.
    public var resources: ResourceOverrides
    public var maxRuntimeSeconds: Int
    public var checkpointIntervalSeconds: Int?
    public var retry: RetryPolicy
    public var curriculum: [CurriculumStage]
    /// Jobs that must succeed before this one starts.
    public var dependsOn: [UUID]
    public var labels: [String: String]
    public var idempotencyKey: String?
    /// Place every replica of the gang in one zone.
    public var sameZone: Bool = false

    public init(
        tenant: String, agent: String, agentVersion: String, name: String? = nil, priorityClass: PriorityClass = .normal,
        replicas: Int = 1, resources: ResourceOverrides = ResourceOverrides(), maxRuntimeSeconds: Int = JobSpec.defaultMaxRuntimeSeconds,
        checkpointIntervalSeconds: Int? = nil, retry: RetryPolicy = RetryPolicy(), curriculum: [CurriculumStage] = [],
        dependsOn: [UUID] = [], labels: [String: String] = [:], idempotencyKey: String? = nil
    ) {
        self.tenant = tenant
        self.agent = agent
        self.agentVersion = agentVersion
        self.name = name
        self.priorityClass = priorityClass
        self.replicas = replicas
        self.resources = resources
        self.maxRuntimeSeconds = maxRuntimeSeconds
        self.checkpointIntervalSeconds = checkpointIntervalSeconds
        self.retry = retry
        self.curriculum = curriculum
        self.dependsOn = dependsOn
        self.labels = labels
        self.idempotencyKey = idempotencyKey
    }

    /// When a spec gives no `max_runtime`.
    public static let defaultMaxRuntimeSeconds = 24 * 3600

    enum CodingKeys: String, CodingKey {
        case tenant, agent, name, replicas, resources, retry, curriculum, labels
        case agentVersion = "agent_version"
        case priorityClass = "priority_class"
        case maxRuntimeSeconds = "max_runtime_seconds"
        case checkpointIntervalSeconds = "checkpoint_interval_seconds"
        case dependsOn = "depends_on"
        case idempotencyKey = "idempotency_key"
        case sameZone = "same_zone"
    }
}

/// Strict order of service: a higher class is always considered first.
public enum PriorityClass: String, Sendable, Codable, CaseIterable, Comparable {
    case critical, high, normal, low, batch

    /// The AMQP message priority of this class (0-4). Lanes are separate queues now (routing key
    /// `job.submit.<class>`); the property is still set, for consumers of classic priority queues.
    public var messagePriority: UInt8 {
        switch self {
        case .critical: 4
        case .high: 3
        case .normal: 2
        case .low: 1
        case .batch: 0
        }
    }

    public static func < (lhs: PriorityClass, rhs: PriorityClass) -> Bool {
        lhs.messagePriority < rhs.messagePriority
    }
}

/// Resources of one replica as requested; nil means "the agent version's default".
public struct ResourceOverrides: Sendable, Equatable, Codable {
    public var flavor: String?
    public var gpus: Int?
    public var cpu: Int?
    public var memoryGiB: Int?

    public init(flavor: String? = nil, gpus: Int? = nil, cpu: Int? = nil, memoryGiB: Int? = nil) {
        self.flavor = flavor
        self.gpus = gpus
        self.cpu = cpu
        self.memoryGiB = memoryGiB
    }

    enum CodingKeys: String, CodingKey {
        case flavor, gpus, cpu
        case memoryGiB = "memory_gib"
    }
}

/// Resources of one replica, complete.
public struct Resources: Sendable, Equatable, Codable {
    public var flavor: String
    public var gpus: Int
    public var cpu: Int
    public var memoryGiB: Int

    public init(flavor: String, gpus: Int, cpu: Int, memoryGiB: Int) {
        self.flavor = flavor
        self.gpus = gpus
        self.cpu = cpu
        self.memoryGiB = memoryGiB
    }

    enum CodingKeys: String, CodingKey {
        case flavor, gpus, cpu
        case memoryGiB = "memory_gib"
    }
}

/// Why a run ended, for retry decisions.
public enum FailureCategory: String, Sendable, Codable, CaseIterable {
    case nodeLost = "node_lost"
    case preempted
    case stalled
    case exitNonzero = "exit_nonzero"
}

public struct RetryPolicy: Sendable, Equatable, Codable {
    public var maxAttempts: Int
    public var backoffSeconds: Int
    public var retryOn: [FailureCategory]
    /// How long a run may go without reporting progress before it counts as stalled (nil: the
    /// health checker's default).
    public var stallTimeoutSeconds: Int?

    public init(
        maxAttempts: Int = 3, backoffSeconds: Int = 30, retryOn: [FailureCategory] = [.nodeLost, .preempted, .stalled],
        stallTimeoutSeconds: Int? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.backoffSeconds = backoffSeconds
        self.retryOn = retryOn
        self.stallTimeoutSeconds = stallTimeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case maxAttempts = "max_attempts"
        case backoffSeconds = "backoff_seconds"
        case retryOn = "retry_on"
        case stallTimeoutSeconds = "stall_timeout_seconds"
    }
}

/// One stage of a curriculum: runs from the previous stage's final checkpoint with its own parameters.
public struct CurriculumStage: Sendable, Equatable, Codable {
    public var name: String
    public var parameters: JSONValue
    public var maxRuntimeSeconds: Int?
    /// Condition on a reported metric before the next stage may start.
    public var advanceWhen: MetricThreshold?

    public init(name: String, parameters: JSONValue = .object([:]), maxRuntimeSeconds: Int? = nil, advanceWhen: MetricThreshold? = nil) {
        self.name = name
        self.parameters = parameters
        self.maxRuntimeSeconds = maxRuntimeSeconds
        self.advanceWhen = advanceWhen
    }

    enum CodingKeys: String, CodingKey {
        case name, parameters
        case maxRuntimeSeconds = "max_runtime_seconds"
        case advanceWhen = "advance_when"
    }
}

public struct MetricThreshold: Sendable, Equatable, Codable {
    public var metric: String
    public var atLeast: Double?
    public var atMost: Double?

    public init(metric: String, atLeast: Double? = nil, atMost: Double? = nil) {
        self.metric = metric
        self.atLeast = atLeast
        self.atMost = atMost
    }

    enum CodingKeys: String, CodingKey {
        case metric
        case atLeast = "at_least"
        case atMost = "at_most"
    }
}

/// A problem with one field of a request; `field` is a path such as `resources.gpus` or `curriculum[1].name`.
public struct FieldProblem: Sendable, Equatable, Codable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
