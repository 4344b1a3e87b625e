import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres
import Scheduling
import Synchronization

/// The scheduler's decision loop (one per replica; only the leader decides). A round runs when
/// woken (new job, node change, freed capacity) or every `refresh` (aging, reasons): in one
/// transaction it checks its leadership epoch, reads the cluster and pending jobs, calls the pure
/// `Scheduler.schedule`, writes allocations and reasons, and records `job.scheduled` /
/// `job.pending` events for the outbox relay.
public final class SchedulingLoop: Sendable {
    public struct Settings: Sendable {
        public var identity: String
        /// Longest time between rounds when nothing wakes the loop.
        public var refresh: Duration
        /// How often a follower tries to take over.
        public var takeoverInterval: Duration
        public var agingInterval: TimeInterval?
        /// How long tenants' weights and quotas are reused before being read again.
        public var policyTTL: Duration = .seconds(2)

        public init(
            identity: String = "\(localHostName())/\(getpid())", refresh: Duration = .seconds(5),
            takeoverInterval: Duration = .seconds(1), agingInterval: TimeInterval? = 3_600
        ) {
            self.identity = identity
            self.refresh = refresh
            self.takeoverInterval = takeoverInterval
            self.agingInterval = agingInterval
        }
    }

    let settings: Settings
    let databaseURL: String
    let pool: PostgresPool
    let topology: Topology
    let logger: Logger
    let metrics: SchedulerMetrics
    /// Only the loop's thread touches these; the Mutex makes the class Sendable.
    private let view = Mutex<ClusterView?>(nil)
    private let positionsWrittenAt = Mutex<ContinuousClock.Instant?>(nil)
    private let cachedPolicy = Mutex<(SchedulingPolicy, ContinuousClock.Instant)?>(nil)

    public init(
        settings: Settings, databaseURL: String, pool: PostgresPool, topology: Topology, logger: Logger,
        metrics: SchedulerMetrics = SchedulerMetrics()
    ) {
        self.metrics = metrics
        self.settings = settings
        self.databaseURL = databaseURL
        self.pool = pool
        self.topology = topology
        self.logger = logger
    }

    public func run(until stop: StopSignal) {
        let election = LeaderElection(databaseURL: databaseURL, identity: settings.identity, logger: logger)
        var listener: PostgresConnection?
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !stop.isRequested {
            do {
                if !election.isLeader { _ = try election.tryAcquire() }
                metrics.leader.set(election.isLeader ? 1 : 0)
                guard election.isLeader, let epoch = election.epoch else {
                    stop.sleep(settings.takeoverInterval)
                    continue
                }
                if listener == nil || listener?.isBroken == true {
                    let connection = try PostgresConnection(url: databaseURL, applicationName: "agentmgr-scheduler-listener")
                    try connection.execute(script: "LISTEN agentmgr_scheduler")  // = SchedulerStore.wakeChannel
                    listener = connection
                }
                let stillLeader = try round(epoch: epoch)
                backoff.reset()
                if !stillLeader {
                    logger.warning("a newer scheduler leader exists; stepping down", metadata: ["epoch": "\(epoch)"])
                    election.resign()
                    continue
                }
                // Wait for a wake-up or the refresh interval. Notifications that arrived during the
                // round are already queued: take them all and go. (Waiting for a quiet gap instead
                // never ends under steady load, and latency is what the round is for.)
                let deadline = ContinuousClock.now + settings.refresh
                while !stop.isRequested, ContinuousClock.now < deadline {
                    if try listener!.waitForNotification(timeout: .milliseconds(250)) != nil {
                        while try listener!.waitForNotification(timeout: .zero) != nil {}
                        break
                    }
                }
                election.checkSession()
            } catch {
                logger.warning("scheduling round failed; retrying", metadata: ["error": "\(error)"])
                listener = nil
                election.checkSession()
                stop.sleep(backoff.next())
            }
        }
        election.resign()
        logger.info("scheduling loop stopped")
    }

    /// One round. Returns false when the epoch moved on (another replica leads now).
    @discardableResult
    func round(epoch: Int64) throws -> Bool {
        // Taken out of the Mutex, not copied, so the round updates the view in place: a copy would
        // copy its thousands of nodes and running jobs on first write, every round. A round that
        // fails or retries finds nothing taken and reloads from the database.
        var taken = view.withLock { $0.take() }
        let roundStarted = ContinuousClock.now
        let outcome: (stillLeader: Bool, view: ClusterView?, placed: Int, waiting: Int)
        do {
            outcome = try pool.transaction { db in try decide(epoch: epoch, view: &taken, in: db) }
        } catch is SteppedDown {
            outcome = (false, nil, 0, 0)
        }
        view.withLock { $0 = outcome.view }
        if outcome.stillLeader {
            metrics.placements.add(outcome.placed)
            metrics.pending.set(outcome.waiting)
        }
        metrics.rounds.add(1)
        metrics.roundLatency.observe(ContinuousClock.now - roundStarted)
        return outcome.stillLeader
    }

    /// Another replica leads now: the round rolls back what it read (released jobs stay for the leader).
    private struct SteppedDown: Error {}

    /// The round's transaction: five round trips when jobs are placed (the reads, marking them
    /// scheduled, the writes, and BEGIN and COMMIT), whatever the number of jobs; more only to
    /// refresh the policy (every `policyTTL`) or for jobs with dependencies or budget holds.
    private func decide(epoch: Int64, view taken: inout ClusterView?, in db: PostgresConnection) throws
        -> (stillLeader: Bool, view: ClusterView?, placed: Int, waiting: Int)
    {
        let start = try SchedulerStore.RoundStart(db.pipeline(SchedulerStore.RoundStart.statements))
        guard start.epoch == epoch else { throw SteppedDown() }
        let now = Date()
        var cluster: ClusterView
        if var cached = taken.take(), cached.epoch == epoch, cached.nodesVersion == start.nodesVersion {
            cached.release(start.released)
            cluster = consume cached
        } else {
            cluster = try ClusterView.load(epoch: epoch, nodesVersion: start.nodesVersion, in: db)
        }
        let gate = try DependencyGate.split(start.pending, holds: start.stopHolds, in: db)
        try EventRecorder.append(
            try DependencyGate.record(gate, now: now, producer: SchedulerHandler.workerName, in: db).map { ($0, nil) }, topology: topology,
            in: db)
        let pending = gate.eligible
        guard !pending.isEmpty else { return (true, cluster, 0, gate.waiting.count) }
        let policy = try policy(now: now, in: db)
        let started = ContinuousClock.now
        let result = Scheduler.schedule(
            prepared: cluster.prepared, held: cluster.held, pending: pending.map { $0.job }, policy: policy)
        let decided = ContinuousClock.now - started

        let jobs = Dictionary(uniqueKeysWithValues: pending.map { ($0.job.id, $0.job) })
        let previous = Dictionary(uniqueKeysWithValues: pending.map { ($0.job.id, $0) })
        let placements = try SchedulerStore.markScheduled(result.placements, now: now, in: db)
        // A new reason is written at once; a moved position (and the "N jobs ahead" in the
        // message) at most once per refresh interval: with thousands waiting, every arrival
        // shifts thousands of positions, and rewriting them each round was most of the
        // database's work under load (issue 5).
        let refreshPositions = positionsWrittenAt.withLock { last in
            guard last.map({ ContinuousClock.now - $0 >= settings.refresh }) ?? true else { return false }
            last = ContinuousClock.now
            return true
        }
        let changed = result.pending.filter { status in
            let before = previous[status.jobID]
            if before?.reasonCode != status.reason.code.rawValue { return true }
            return refreshPositions && (before?.reasonMessage != status.reason.message || before?.queuePosition != status.queuePosition)
        }
        // Written with the events, in one round trip.
        let writes = [SchedulerStore.allocations(placements, jobs: jobs, epoch: epoch), try SchedulerStore.pendingReasons(changed, now: now)]
            .compactMap { $0 }

        var events: [(event: EventEnvelope, priority: UInt8?)] = []
        var encoded: [EncodedEvent?] = []  // one per event: a placement's envelope, encoded once for its log row, outbox row and its nodes' copies
        var placementCopies: [OutboxMessage] = []
        for placement in placements {
            guard let job = jobs[placement.jobID] else { continue }
            cluster.place(
                RunningJob(
                    id: job.id, tenant: job.tenant, priorityClass: job.priorityClass, flavor: job.flavor, perReplica: job.perReplica,
                    nodes: placement.nodes, startedAt: now, endsBy: now.addingTimeInterval(Double(job.maxRuntimeSeconds))))
            let scheduled = SchedulingEvents.scheduled(
                job, placement, attempt: previous[placement.jobID]?.attempt ?? 0, epoch: epoch, producer: SchedulerHandler.workerName)
            let parts = scheduled.encodedParts()
            events.append((scheduled, UInt8(job.priorityClass.rawValue)))
            encoded.append(parts)
            placementCopies += try OutboxMessage.placementCopies(of: scheduled, nodes: placement.nodes, topology: topology, body: parts.body)
        }
        for status in result.pending where previous[status.jobID]?.reasonCode != status.reason.code.rawValue {
            guard let job = jobs[status.jobID] else { continue }
            events.append((SchedulingEvents.pending(job, status, producer: SchedulerHandler.workerName), nil))
            encoded.append(nil)
        }
        try EventRecorder.append(
            events, encoded: encoded, messages: OutboxMessage.groupedByNode(placementCopies), along: writes,
            relay: SchedulerHandler.workerName, topology: topology, in: db)
        if !placements.isEmpty {
            logger.debug(
                "scheduling round",
                metadata: [
                    "placed": "\(placements.count)", "pending": "\(result.pending.count)", "epoch": "\(epoch)",
                    "decision_ms": "\(decided.components.attoseconds / 1_000_000_000_000_000 + decided.components.seconds * 1000)",
                ])
        }
        return (true, cluster, placements.count, result.pending.count + gate.waiting.count)
    }

    /// Tenants, quotas and quota units change rarely: read them at most once per `policyTTL`.
    private func policy(now: Date, in db: PostgresConnection) throws -> SchedulingPolicy {
        let clock = ContinuousClock.now
        if let (cached, readAt) = cachedPolicy.withLock({ $0 }), clock - readAt < settings.policyTTL {
            var policy = cached
            policy.now = now
            return policy
        }
        let policy = try SchedulerStore.policy(now: now, agingInterval: settings.agingInterval, in: db)
        cachedPolicy.withLock { $0 = (policy, clock) }
        return policy
    }
}

extension SchedulingLoop {
    /// The loop as a task for `WorkerApp.run(background:)`.
    public var task: BackgroundTask {
        BackgroundTask(name: "scheduling") { [self] stop in run(until: stop) }
    }
}

/// The host name without any lookup (ProcessInfo.hostName may resolve it over DNS).
public func localHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension SchedulingLoop {
    /// One round as leader of `epoch`, for tests; false when that epoch is stale.
    public func roundForTesting(epoch: Int64) throws -> Bool {
        try round(epoch: epoch)
    }
}
