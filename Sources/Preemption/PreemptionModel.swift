// The plain values the preemption decision is made from. No I/O: times are Unix seconds as
// `Double`, job ids are strings. The scheduler worker builds these from the same rows it schedules
// from; tests build them directly; an audit can replay a decision from the event log.
//
// Resources and priority classes are the scheduling model's own (`Scheduling` is pure too), under
// the names this module's callers use. `RunningJob` shares its name with `Scheduling.RunningJob`:
// a file importing both modules writes `Preemption.RunningJob`.

import Scheduling

/// Resources of one replica, or free/total capacity of a node.
public typealias Resources = ResourceVector

/// Priority classes; raw values are ranks (higher is more important).
public typealias PriorityClass = SchedulingClass

/// A node of one flavor and what is free on it now.
public struct PreemptionNode: Sendable, Hashable {
    public var id: String
    public var flavor: String
    public var zone: String
    public var capacity: Resources
    /// Free now, before any job is stopped.
    public var free: Resources
    /// Takes new work (`ready`). Cordoned, draining and lost nodes cannot take the preemptor, so
    /// stopping a replica there frees nothing it can use.
    public var placeable: Bool

    public init(id: String, flavor: String, zone: String, capacity: Resources, free: Resources, placeable: Bool = true) {
        self.id = id
        self.flavor = flavor
        self.zone = zone
        self.capacity = capacity
        self.free = free
        self.placeable = placeable
    }
}

/// A job holding capacity, with what stopping it would cost.
public struct RunningJob: Sendable, Hashable {
    public var id: String
    public var tenant: String
    public var priorityClass: PriorityClass
    public var flavor: String
    public var perReplica: Resources
    /// One node id per replica (a node may appear more than once).
    public var nodes: [String]
    /// Unix seconds.
    public var startedAt: Double
    /// Unix seconds of its newest checkpoint, nil if it has none.
    public var lastCheckpointAt: Double?
    /// Money per unit-hour: per GPU-hour, or per core-hour for CPU-only replicas (`perReplica.gpus == 0`).
    public var pricePerUnitHour: Double
    /// Its tenant holds more than its nominal quota of this flavor (it runs on borrowed quota).
    public var borrowing: Bool
    /// Its tenant spent its budget and chose to keep running preemptible (policy `downgrade`).
    public var overBudget: Bool

    public init(
        id: String, tenant: String, priorityClass: PriorityClass, flavor: String, perReplica: Resources, nodes: [String],
        startedAt: Double, lastCheckpointAt: Double? = nil, pricePerUnitHour: Double, borrowing: Bool = false, overBudget: Bool = false
    ) {
        self.overBudget = overBudget
        self.id = id
        self.tenant = tenant
        self.priorityClass = priorityClass
        self.flavor = flavor
        self.perReplica = perReplica
        self.nodes = nodes
        self.startedAt = startedAt
        self.lastCheckpointAt = lastCheckpointAt
        self.pricePerUnitHour = pricePerUnitHour
        self.borrowing = borrowing
    }
}

/// The job that cannot be placed: a gang of `replicas` identical replicas, one node each.
public struct PreemptionRequest: Sendable, Hashable {
    public var id: String
    public var tenant: String
    public var priorityClass: PriorityClass
    public var flavor: String
    public var perReplica: Resources
    public var replicas: Int
    /// All replicas in one zone.
    public var sameZone: Bool
    /// Its tenant holds less than its nominal quota of this flavor, so it may reclaim what other
    /// tenants borrowed, whatever their class.
    public var tenantUnderNominal: Bool
    /// Its own tenant spent its budget (downgraded): it may not stop other over-budget tenants'
    /// jobs regardless of class (two such tenants would take turns stopping each other).
    public var overBudget: Bool

    public init(
        id: String, tenant: String, priorityClass: PriorityClass, flavor: String, perReplica: Resources, replicas: Int,
        sameZone: Bool = false, tenantUnderNominal: Bool = false, overBudget: Bool = false
    ) {
        self.overBudget = overBudget
        self.id = id
        self.tenant = tenant
        self.priorityClass = priorityClass
        self.flavor = flavor
        self.perReplica = perReplica
        self.replicas = replicas
        self.sameZone = sameZone
        self.tenantUnderNominal = tenantUnderNominal
    }
}

public struct PreemptionPolicy: Sendable, Hashable {
    /// A job is never stopped before it has run this long (seconds, by its class; absent: 0).
    public var minimumRuntimeSeconds: [PriorityClass: Double]
    /// Unix seconds: the decision has no clock of its own.
    public var now: Double

    public init(minimumRuntimeSeconds: [PriorityClass: Double] = [:], now: Double) {
        self.minimumRuntimeSeconds = minimumRuntimeSeconds
        self.now = now
    }
}

/// Why a job may be stopped for the preemptor.
public enum VictimReason: String, Sendable, Hashable {
    /// Its class is strictly lower than the preemptor's.
    case lowerPriority
    /// The preemptor's tenant is under its nominal quota and this job, of another tenant, runs on
    /// borrowed quota (its class may be equal or higher).
    case reclaimBorrowed
    /// Its tenant spent its budget (policy `downgrade`): any other tenant's job may stop it, whatever
    /// the classes, and its class's minimum runtime does not protect it.
    case overBudget
}

/// What a job's quota and price are counted in.
public enum WorkUnit: String, Sendable, Hashable {
    /// GPUs (replicas with at least one GPU).
    case gpu
    /// Cores (CPU-only replicas).
    case cpu
}

/// The work stopping a job throws away: everything since its last checkpoint (or its start).
public struct WorkLost: Sendable, Hashable {
    /// GPUs per replica × replicas, or cores × replicas for CPU-only replicas.
    public var units: Int
    public var unit: WorkUnit
    /// Seconds since its last checkpoint, or since it started if it has none (or only older ones).
    public var seconds: Double
    /// `units × seconds`: GPU-seconds or core-seconds.
    public var unitSeconds: Double
    /// `unitSeconds × pricePerUnitHour / 3600`.
    public var money: Double

    public init(units: Int, unit: WorkUnit, seconds: Double, unitSeconds: Double, money: Double) {
        self.units = units
        self.unit = unit
        self.seconds = seconds
        self.unitSeconds = unitSeconds
        self.money = money
    }
}

/// A job to stop.
public struct Victim: Sendable, Hashable {
    public var jobID: String
    public var tenant: String
    public var priorityClass: PriorityClass
    public var reason: VictimReason
    public var workLost: WorkLost

    public init(jobID: String, tenant: String, priorityClass: PriorityClass, reason: VictimReason, workLost: WorkLost) {
        self.jobID = jobID
        self.tenant = tenant
        self.priorityClass = priorityClass
        self.reason = reason
        self.workLost = workLost
    }
}

public struct PreemptionDecision: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable {
        /// The free capacity already takes the preemptor: nothing to stop.
        case fitsWithoutPreemption
        /// The jobs already being preempted free enough: nothing more to stop.
        case waitingForPreemptions
        /// Stop `victims` (with the jobs already being preempted, if any) and it fits.
        case preempt
        /// No running job may be stopped for it.
        case noEligibleJobs
        /// Stopping every job that may be stopped still leaves too little.
        case tooLittleFreed
    }

    public var outcome: Outcome
    /// In cost order, cheapest first; empty unless `outcome == .preempt`.
    public var victims: [Victim]
    /// One line for people: what to stop and what it costs, or why nothing is stopped.
    public var explanation: String

    public init(outcome: Outcome, victims: [Victim] = [], explanation: String) {
        self.outcome = outcome
        self.victims = victims
        self.explanation = explanation
    }

    /// The preemptor fits once the victims (and the jobs already being preempted) have stopped.
    public var fits: Bool {
        switch outcome {
        case .fitsWithoutPreemption, .waitingForPreemptions, .preempt: true
        case .noEligibleJobs, .tooLittleFreed: false
        }
    }

    /// The jobs already being preempted free enough on their own: no new victim.
    public var waitingForPreemptions: Bool { outcome == .waitingForPreemptions }

    /// The money the victims' lost work was worth.
    public var moneyLost: Double { victims.reduce(0) { $0 + $1.workLost.money } }
}
