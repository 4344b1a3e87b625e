import Foundation

// The plain values the scheduling decision is made from. No I/O anywhere in this module: the
// scheduler worker reads these from PostgreSQL, tests and benchmarks build them directly, and an
// audit can rebuild them from the event log and replay a decision.

/// Resources of one replica, or free/total capacity of a node.
public struct ResourceVector: Sendable, Hashable, Codable {
    public var gpus: Int
    public var cpu: Int
    public var memoryGiB: Int

    public init(gpus: Int, cpu: Int, memoryGiB: Int) {
        self.gpus = gpus
        self.cpu = cpu
        self.memoryGiB = memoryGiB
    }

    public static let zero = ResourceVector(gpus: 0, cpu: 0, memoryGiB: 0)

    /// Every component fits in `other`.
    public func fits(in other: ResourceVector) -> Bool {
        gpus <= other.gpus && cpu <= other.cpu && memoryGiB <= other.memoryGiB
    }

    public static func + (lhs: ResourceVector, rhs: ResourceVector) -> ResourceVector {
        ResourceVector(gpus: lhs.gpus + rhs.gpus, cpu: lhs.cpu + rhs.cpu, memoryGiB: lhs.memoryGiB + rhs.memoryGiB)
    }

    public static func - (lhs: ResourceVector, rhs: ResourceVector) -> ResourceVector {
        ResourceVector(gpus: lhs.gpus - rhs.gpus, cpu: lhs.cpu - rhs.cpu, memoryGiB: lhs.memoryGiB - rhs.memoryGiB)
    }

    public static func * (lhs: ResourceVector, rhs: Int) -> ResourceVector {
        ResourceVector(gpus: lhs.gpus * rhs, cpu: lhs.cpu * rhs, memoryGiB: lhs.memoryGiB * rhs)
    }
}

public enum NodeState: String, Sendable, Codable {
    /// Takes new work.
    case ready
    /// Takes no new work; running work stays.
    case cordoned
    /// Takes no new work; running work is being moved off.
    case draining
    /// Missed its heartbeats; nothing on it counts as running.
    case lost
}

/// A node of one flavor, with what is already allocated on it.
public struct SchedulingNode: Sendable, Hashable {
    public var id: String
    public var pool: String
    public var flavor: String
    public var zone: String
    public var rack: String
    public var state: NodeState
    public var capacity: ResourceVector
    /// Sum of the replicas placed on it (running or just scheduled).
    public var allocated: ResourceVector

    public init(
        id: String, pool: String, flavor: String, zone: String, rack: String, state: NodeState = .ready,
        capacity: ResourceVector, allocated: ResourceVector = .zero
    ) {
        self.id = id
        self.pool = pool
        self.flavor = flavor
        self.zone = zone
        self.rack = rack
        self.state = state
        self.capacity = capacity
        self.allocated = allocated
    }

    public var free: ResourceVector { capacity - allocated }
}

/// Strict order of service. Raw values are ranks: higher is served first.
public enum SchedulingClass: Int, Sendable, Codable, CaseIterable, Comparable {
    case batch = 0, low, normal, high, critical

    public static func < (lhs: SchedulingClass, rhs: SchedulingClass) -> Bool { lhs.rawValue < rhs.rawValue }

    public init?(name: String) {
        switch name {
        case "batch": self = .batch
        case "low": self = .low
        case "normal": self = .normal
        case "high": self = .high
        case "critical": self = .critical
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .batch: "batch"
        case .low: "low"
        case .normal: "normal"
        case .high: "high"
        case .critical: "critical"
        }
    }
}

/// A job waiting to be placed: a gang of `replicas` identical replicas.
public struct PendingJob: Sendable, Hashable {
    public var id: UUID
    public var tenant: String
    public var priorityClass: SchedulingClass
    public var flavor: String
    public var perReplica: ResourceVector
    public var replicas: Int
    /// All replicas in one zone.
    public var sameZone: Bool
    public var submittedAt: Date
    public var maxRuntimeSeconds: Int

    public init(
        id: UUID, tenant: String, priorityClass: SchedulingClass, flavor: String, perReplica: ResourceVector, replicas: Int,
        sameZone: Bool = false, submittedAt: Date, maxRuntimeSeconds: Int
    ) {
        self.id = id
        self.tenant = tenant
        self.priorityClass = priorityClass
        self.flavor = flavor
        self.perReplica = perReplica
        self.replicas = replicas
        self.sameZone = sameZone
        self.submittedAt = submittedAt
        self.maxRuntimeSeconds = maxRuntimeSeconds
    }
}

/// A job holding capacity: its replicas' nodes and when it must end at the latest.
public struct RunningJob: Sendable, Hashable {
    public var id: UUID
    public var tenant: String
    public var priorityClass: SchedulingClass
    public var flavor: String
    public var perReplica: ResourceVector
    /// One node id per replica (a node may appear more than once).
    public var nodes: [String]
    public var startedAt: Date
    /// startedAt + max runtime: the latest it frees its capacity (used for backfill reservations).
    public var endsBy: Date

    public init(
        id: UUID, tenant: String, priorityClass: SchedulingClass, flavor: String, perReplica: ResourceVector, nodes: [String],
        startedAt: Date, endsBy: Date
    ) {
        self.id = id
        self.tenant = tenant
        self.priorityClass = priorityClass
        self.flavor = flavor
        self.perReplica = perReplica
        self.nodes = nodes
        self.startedAt = startedAt
        self.endsBy = endsBy
    }
}

/// What quotas count for a flavor: GPUs, or cores on CPU-only flavors.
public enum QuotaUnit: String, Sendable, Codable {
    case gpu, cpu
}

public struct TenantQuota: Sendable, Hashable {
    public var nominal: Int
    public var borrowingLimit: Int

    public init(nominal: Int, borrowingLimit: Int = 0) {
        self.nominal = nominal
        self.borrowingLimit = borrowingLimit
    }
}

public struct TenantPolicy: Sendable, Hashable {
    public var name: String
    /// Fair-share weight: twice the weight, twice the dominant share before yielding.
    public var weight: Double
    public var cohort: String?
    /// By flavor, in the flavor's quota unit.
    public var quotas: [String: TenantQuota]

    public init(name: String, weight: Double = 1, cohort: String? = nil, quotas: [String: TenantQuota] = [:]) {
        self.name = name
        self.weight = weight
        self.cohort = cohort
        self.quotas = quotas
    }
}

public struct SchedulingPolicy: Sendable {
    public var tenants: [String: TenantPolicy]
    public var quotaUnits: [String: QuotaUnit]
    /// A waiting job rises one class per this many seconds of waiting (nil: no aging), up to
    /// `critical`; ties within a class still go by fair share then submit time.
    public var agingInterval: TimeInterval?
    public var backfill: Bool
    public var now: Date

    public init(
        tenants: [String: TenantPolicy], quotaUnits: [String: QuotaUnit], agingInterval: TimeInterval? = 3_600, backfill: Bool = true,
        now: Date
    ) {
        self.tenants = tenants
        self.quotaUnits = quotaUnits
        self.agingInterval = agingInterval
        self.backfill = backfill
        self.now = now
    }
}

/// A job placed this round: one node per replica.
public struct Placement: Sendable, Hashable, Codable {
    public var jobID: UUID
    public var nodes: [String]
    /// Quota units taken beyond the tenant's nominal quota (reclaimable by preemption).
    public var borrowedUnits: Int
    /// Started ahead of a blocked bigger job without delaying its reservation.
    public var backfilled: Bool

    public init(jobID: UUID, nodes: [String], borrowedUnits: Int = 0, backfilled: Bool = false) {
        self.jobID = jobID
        self.nodes = nodes
        self.borrowedUnits = borrowedUnits
        self.backfilled = backfilled
    }
}

/// Why a job still waits, for people and for programs.
public struct PendingReason: Sendable, Hashable, Codable {
    public enum Code: String, Sendable, Codable {
        /// The tenant's quota (nominal + what its cohort can lend now) is used up for this flavor.
        case quota
        /// Not enough free capacity of the flavor (for the whole gang, or in one zone).
        case capacity
        /// Capacity exists but is held for an earlier, bigger job's reservation.
        case reserved
        /// Higher-ranked jobs are placed first and took what it needed this round.
        case queued
        /// No ready node of the flavor at all.
        case noNodes
        /// The tenant is unknown to the policy.
        case unknownTenant
    }

    public var code: Code
    public var message: String
    /// Numbers behind the message (used, nominal, lendable, needed, free, jobs ahead...).
    public var details: [String: Int]

    public init(code: Code, message: String, details: [String: Int] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }
}

public struct PendingStatus: Sendable, Hashable {
    public var jobID: UUID
    public var reason: PendingReason
    /// 1-based position in the order of service among jobs still pending.
    public var queuePosition: Int
    /// Effective class after aging.
    public var effectiveClass: SchedulingClass

    public init(jobID: UUID, reason: PendingReason, queuePosition: Int, effectiveClass: SchedulingClass) {
        self.jobID = jobID
        self.reason = reason
        self.queuePosition = queuePosition
        self.effectiveClass = effectiveClass
    }
}

public struct SchedulingResult: Sendable {
    public var placements: [Placement]
    public var pending: [PendingStatus]

    public init(placements: [Placement], pending: [PendingStatus]) {
        self.placements = placements
        self.pending = pending
    }
}
