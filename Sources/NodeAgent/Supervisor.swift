import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres

#if canImport(Glibc)
import Glibc
#endif

/// Launches this node's `starting` runs and watches them: reads the progress protocol from their
/// stdout log, records progress and checkpoints, enforces the max runtime (SIGTERM, then SIGKILL
/// after the grace period), and records how each run ended. Every change to `runs` /
/// `checkpoints` is committed with its events (`job.started`, `job.progress`, `job.checkpointed`,
/// `job.finished`) in one transaction. Only its own thread touches `supervised`.
public final class Supervisor: @unchecked Sendable {
    let settings: NodeAgentSettings
    let pool: PostgresPool
    let topology: Topology
    let logger: Logger
    let stopHint: StopRequestHint
    let launcher: any RunLauncher
    private var supervised: [UUID: SupervisedRun] = [:]
    private var lastStopCheck: ContinuousClock.Instant?

    public convenience init(
        settings: NodeAgentSettings, pool: PostgresPool, topology: Topology, stopHint: StopRequestHint, backend: NodeAgentBackend = .local,
        logger: Logger
    ) {
        self.init(settings: settings, pool: pool, topology: topology, stopHint: stopHint, launcher: backend.launcher, logger: logger)
    }

    init(settings: NodeAgentSettings, pool: PostgresPool, topology: Topology, stopHint: StopRequestHint, launcher: any RunLauncher, logger: Logger) {
        self.settings = settings
        self.stopHint = stopHint
        self.launcher = launcher
        self.pool = pool
        self.topology = topology
        self.logger = logger
    }

    public var task: BackgroundTask {
        BackgroundTask(name: "supervisor") { [self] stop in run(until: stop) }
    }

    func run(until stop: StopSignal) {
        do { try recoverOrphans() } catch { logger.error("could not check for runs left by a previous agent", metadata: ["error": "\(error)"]) }
        while !stop.isRequested {
            do {
                try launchStarting()
                try watch(now: .now)
            } catch {
                logger.warning("supervision round failed; retrying", metadata: ["error": "\(error)"])
            }
            let (seconds, attoseconds) = settings.pollInterval.components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
        }
        stopAll()
    }

    // MARK: Launch

    private func launchStarting() throws {
        // Spawned processes are collected outside the transaction and it runs once (no retry
        // of the body): a retried body would start the same runs again.
        var launched: [SupervisedRun] = []
        do {
            try pool.transaction(maxAttempts: 1) { db in
                var events: [EventEnvelope] = []
                for run in try RunStore.claimStarting(node: settings.nodeID, in: db) {
                    do {
                        let (supervisedRun, event) = try launch(run, in: db)
                        if let supervisedRun { launched.append(supervisedRun) }
                        events.append(event)
                    } catch let error as PostgresError {
                        throw error
                    } catch {
                        // This run cannot start (directory, spawn): it fails alone, the others go on.
                        logger.error("run could not start", metadata: ["run_id": "\(run.runID)", "error": "\(error)"])
                        try RunStore.finish(run.runID, state: "failed", exitCode: nil, signal: nil, in: db)
                        events.append(
                            finishedEvent(
                                run.jobID, run.runID, rank: run.rank, attempt: run.attempt, tenant: nil, outcome: "failed", reason: "could not start: \(error)"))
                    }
                }
                try EventRecorder.append(events.map { ($0, nil) }, topology: topology, in: db)
            }
        } catch {
            // Not recorded as running: stop what was started; the runs stay `starting` for the next try.
            for run in launched { run.process.killAndWait() }
            throw error
        }
        for run in launched { supervised[run.runID] = run }
    }

    /// Starts one run; returns it (nil when it cannot start) and the event to record.
    private func launch(_ run: RunStore.StartingRun, in db: PostgresConnection) throws -> (SupervisedRun?, EventEnvelope) {
        guard let info = try RunStore.launchInfo(jobID: run.jobID, in: db) else {
            try RunStore.finish(run.runID, state: "failed", exitCode: nil, signal: nil, in: db)
            return (
                nil, finishedEvent(run.jobID, run.runID, rank: run.rank, attempt: run.attempt, tenant: nil, outcome: "failed", reason: "job not found")
            )
        }
        let jobDirectory = "\(absoluteWorkDirectory)/jobs/\(run.jobID.uuidString.lowercased())"
        let runDirectory = "\(jobDirectory)/runs/\(run.runID.uuidString.lowercased())"
        let checkpointDirectory = "\(jobDirectory)/checkpoints"
        for directory in [runDirectory, checkpointDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let resumeFrom = try run.resumeFrom ?? RunStore.latestCheckpoint(jobID: run.jobID, in: db).map(Self.path(ofFileURI:))
        let step = info.curriculum.indices.contains(run.stage) ? info.curriculum[run.stage] : nil
        let environment = LaunchEnvironment(
            jobID: run.jobID, runID: run.runID, rank: run.rank, nodes: run.nodes, addresses: run.nodes.map(settings.address(of:)),
            checkpointDirectory: launcher.checkpointDirectory(jobID: run.jobID, local: checkpointDirectory), resumeFrom: resumeFrom, parameters: step?.parameters ?? .object([:]))
        if info.budgetHeld {
            // Placed before its tenant's budget was spent; the scheduler holds its jobs now. Any
            // rank speaks for the job here (job.finished): the scheduler requeues the attempt, and
            // its requeue stops the gang's other ranks wherever they run.
            try RunStore.finish(run.runID, state: "stopped", exitCode: nil, signal: nil, in: db)
            return (
                nil,
                envelope(
                    "job.finished", jobID: run.jobID, runID: run.runID, tenant: info.tenant,
                    [
                        "outcome": "budget_exceeded", "reason": .string("tenant \(info.tenant) has spent its budget; the run was not started"),
                        "rank": .number(Double(run.rank)), "attempt": .number(Double(run.attempt)),
                    ])
            )
        }
        let maxRuntime = step?.maxRuntimeSeconds ?? info.maxRuntimeSeconds
        let request = LaunchRequest(run: run, info: info, environment: environment, runDirectory: runDirectory, maxRuntimeSeconds: maxRuntime)
        let stdoutPath = request.stdoutPath
        let process: any RunProcess
        do {
            process = try launcher.launch(request)
        } catch let refusal as LaunchRefused {
            try RunStore.finish(run.runID, state: "failed", exitCode: nil, signal: nil, in: db)
            let event = finishedEvent(
                run.jobID, run.runID, rank: run.rank, attempt: run.attempt, tenant: info.tenant, outcome: "failed",
                reason: refusal.description)
            return (nil, event)
        }
        let startedAt = Date()
        try RunStore.markRunning(
            run.runID, pid: process.pid, command: launcher.describe(request), logPath: stdoutPath, checkpointDir: environment.checkpointDirectory,
            resumedFrom: resumeFrom, startedAt: startedAt, in: db)
        logger.info(
            "run started",
            metadata: [
                "job_id": "\(run.jobID)", "run_id": "\(run.runID)", "rank": "\(run.rank)", "backend": "\(launcher.name)",
                "pid": "\(process.pid.map(String.init) ?? "-")",
            ])
        var supervisedRun = SupervisedRun(
            runID: run.runID, jobID: run.jobID, rank: run.rank, worldSize: run.nodes.count, tenant: info.tenant, process: process,
            stdoutPath: stdoutPath, deadline: .now + .seconds(maxRuntime))
        supervisedRun.nodes = run.nodes
        supervisedRun.stage = run.stage
        supervisedRun.attempt = run.attempt
        supervisedRun.curriculum = info.curriculum
        supervisedRun.checkpointIntervalSeconds = info.checkpointIntervalSeconds
        let event = EventEnvelope(
            type: "job.started", producer: PlacementHandler.workerName, tenant: info.tenant,
            subjects: subjects(run.jobID, run.runID), correlationID: run.jobID,
            payload: .object([
                "job_id": .string(run.jobID.uuidString.lowercased()), "run_id": .string(run.runID.uuidString.lowercased()),
                "node": .string(settings.nodeID), "rank": .number(Double(run.rank)), "world_size": .number(Double(run.nodes.count)),
                "resumed_from": resumeFrom.map(JSONValue.string) ?? .null, "stage": .number(Double(run.stage)),
                "attempt": .number(Double(run.attempt)),
                "stage_name": step.map { .string($0.name) } ?? .null, "started_at": .string(ISO8601.string(from: startedAt)),
            ]))
        return (supervisedRun, event)
    }

    // MARK: Watch

    private func watch(now: ContinuousClock.Instant) throws {
        guard !supervised.isEmpty else { return }
        // Runs asked to stop: their job ended elsewhere (a gang's rank 0 finished), or a rollback
        // replaces them. Look at most once a second (nothing next to the grace period), and only
        // while a gang runs here or this agent's consumer just recorded a request.
        var stops: [UUID: String] = [:]
        let mayHaveRequests = supervised.values.contains(where: { $0.worldSize > 1 }) || stopHint.isRecent(now: now)
        if mayHaveRequests, lastStopCheck.map({ now - $0 >= .seconds(1) }) ?? true {
            lastStopCheck = now
            stops = try pool.withConnection { try RunStore.stopRequested(node: settings.nodeID, in: $0) }
        }
        for (id, reason) in stops {
            guard var run = supervised[id], run.terminateSentAt == nil else { continue }
            if reason == "budget_exceeded" {
                // Stop after its next checkpoint (one checkpoint interval and the grace period at most).
                guard run.budgetStopBy == nil else { continue }
                logger.info("tenant over budget; stopping the run after its next checkpoint", metadata: ["run_id": "\(id)"])
                run.budgetStopBy = now + .seconds(run.checkpointIntervalSeconds ?? 0) + (run.checkpointIntervalSeconds == nil ? .zero : settings.gracePeriod)
                supervised[id] = run
                continue
            }
            if reason != "job_ended" {
                // A rollback, a requeue (superseded: its end is not the job's) or a preemption:
                // SIGTERM now (a program can checkpoint), SIGKILL after the grace period.
                logger.info("stopping the run", metadata: ["run_id": "\(id)", "reason": "\(reason)"])
                if reason == "preempted" { run.preempted = true } else { run.supersededOutcome = reason }
                run.process.signal(SIGTERM)
                run.terminateSentAt = now
                supervised[id] = run
                continue
            }
            // A replica gets the grace period to end on its own (ranks finish together), then SIGTERM.
            guard let stopAt = run.stopAt else {
                run.stopAt = now + settings.gracePeriod
                supervised[id] = run
                continue
            }
            guard now >= stopAt else { continue }
            logger.info("job ended; stopping its replica here", metadata: ["run_id": "\(id)"])
            run.stoppedWithJob = true
            run.process.signal(SIGTERM)
            run.terminateSentAt = now
            supervised[id] = run
        }
        var changes: [RunChange] = []
        var next: [UUID: SupervisedRun?] = [:]  // applied only once the changes are committed
        for (id, run) in supervised {
            var run = run
            for line in run.readNewLines() {
                switch ProgressLine.parse(line[...]) {
                case nil: continue
                case .failure(let error)?:
                    logger.warning("ignoring a malformed progress line", metadata: ["run_id": "\(id)", "reason": "\(error)"])
                case .success(let record)?: run.take(record)
                }
            }
            if run.terminateSentAt == nil, let stopBy = run.budgetStopBy, !run.checkpoints.isEmpty || now >= stopBy {
                logger.info("stopping the run: its tenant is over budget", metadata: ["run_id": "\(id)", "checkpointed": "\(!run.checkpoints.isEmpty)"])
                run.process.signal(SIGTERM)
                run.terminateSentAt = now
                run.budgetStopped = true
            } else if run.terminateSentAt == nil, now >= run.deadline {
                logger.warning("run exceeded its max runtime; stopping it", metadata: ["run_id": "\(id)"])
                run.process.signal(SIGTERM)
                run.terminateSentAt = now
                run.timedOut = true
            } else if let sent = run.terminateSentAt, now - sent >= settings.gracePeriod {
                run.process.signal(SIGKILL)
            }
            let status = run.process.poll()
            if status != .running {
                for line in run.readNewLines() {  // what it printed last
                    if case .success(let record)? = ProgressLine.parse(line[...]) { run.take(record) }
                }
            }
            let change = run.change(status: status, now: now, progressInterval: settings.progressInterval)
            changes.append(change)
            next[id] = status == .running ? run.afterReport(change, now: now) : .some(nil)
        }
        let stale = try record(changes.filter(\.hasSomething))
        for (id, run) in next { supervised[id] = run }
        // Fencing: runs of an attempt the scheduler has moved past (it requeued the job while
        // this agent was away) stop, and nothing they report counts.
        for id in stale {
            guard var run = supervised[id] ?? nil, run.terminateSentAt == nil else { continue }
            logger.warning("run belongs to an attempt the job has moved past; stopping it", metadata: ["run_id": "\(id)"])
            run.supersededOutcome = "fenced"
            run.process.signal(SIGTERM)
            run.terminateSentAt = now
            supervised[id] = run
        }
    }

    /// Records what the round saw; returns the runs found stale (their job is on a later attempt).
    private func record(_ changes: [RunChange]) throws -> [UUID] {
        guard !changes.isEmpty else { return [] }
        return try pool.transaction { db in
            var events: [EventEnvelope] = []
            var copies: [OutboxMessage] = []
            var stale: [UUID] = []
            let current = try RunStore.currentAttempts(of: Array(Set(changes.map(\.jobID))), in: db)
            for var change in changes {
                // A fenced run's late reports are kept (discarded) but not announced.
                var fenced = false
                if let attempt = current[change.jobID], change.attempt < attempt {
                    fenced = true
                    change.superseded = true
                    stale.append(change.runID)
                    if let ending = change.ending, ending.outcome != "rolled_back" {
                        change.ending?.outcome = "fenced"
                        change.ending?.state = "stopped"
                    }
                }
                for checkpoint in change.checkpoints {
                    try RunStore.recordCheckpoint(
                        jobID: change.jobID, runID: change.runID, step: checkpoint.step, uri: checkpoint.uri, metrics: checkpoint.metrics,
                        discarded: change.superseded, in: db)
                    guard !fenced else { continue }
                    events.append(
                        event(
                            "job.checkpointed", change,
                            ["step": .number(Double(checkpoint.step)), "uri": .string(checkpoint.uri), "metrics": Self.json(checkpoint.metrics)]))
                }
                if let progress = change.progress {
                    try RunStore.recordProgress(change.runID, step: progress.step, metrics: progress.metrics, in: db)
                    if change.reportProgress, !fenced {
                        events.append(
                            event("job.progress", change, ["step": .number(Double(progress.step)), "metrics": Self.json(progress.metrics)]))
                    }
                }
                if let ending = change.ending {
                    try RunStore.finish(change.runID, state: ending.state, exitCode: ending.exitCode, signal: ending.signal, in: db)
                    logger.info(
                        "run ended",
                        metadata: ["run_id": "\(change.runID)", "state": "\(ending.state)", "exit_code": "\(ending.exitCode.map(String.init) ?? "-")"])
                    var payload: [String: JSONValue] = [
                        "outcome": .string(ending.outcome), "exit_code": ending.exitCode.map { .number(Double($0)) } ?? .null,
                        "signal": ending.signal.map { .number(Double($0)) } ?? .null, "rank": .number(Double(change.rank)),
                    ]
                    if let result = change.result { payload["metrics"] = Self.json(result) }
                    payload["attempt"] = .number(Double(change.attempt))
                    // A rolled back or requeued run's end is not the job's: the new attempt goes on.
                    guard change.rank == 0, !change.superseded else {
                        events.append(event("run.finished", change, payload))
                        continue
                    }
                    // Rank 0 speaks for the job: its end is the stage's end, and the job's unless
                    // a next curriculum stage starts (on every node of the job).
                    if !change.curriculum.isEmpty {
                        let step = change.curriculum[min(change.stage, change.curriculum.count - 1)]
                        var stagePayload = payload
                        stagePayload["stage"] = .number(Double(change.stage))
                        stagePayload["stage_name"] = .string(step.name)
                        events.append(event("job.stage_finished", change, stagePayload))
                        if ending.outcome == "succeeded", change.stage + 1 < change.curriculum.count {
                            let (advance, reason) = step.allowsNext(after: change.result ?? [:])
                            if advance {
                                let advanced = event(
                                    "job.stage_advanced", change,
                                    [
                                        "stage": .number(Double(change.stage + 1)), "stage_name": .string(change.curriculum[change.stage + 1].name),
                                        "nodes": .array(change.nodes.map(JSONValue.string)), "attempt": .number(Double(change.attempt)),
                                    ])
                                events.append(advanced)
                                copies += try OutboxMessage.placementCopies(of: advanced, nodes: change.nodes, topology: topology)
                                continue
                            }
                            payload["outcome"] = .string("threshold_not_met")
                            payload["reason"] = .string(reason ?? "")
                        }
                    }
                    let finished = event("job.finished", change, payload)
                    events.append(finished)
                    // Every node of the job stops what still runs of it (a gang's other ranks).
                    if change.nodes.count > 1 {
                        copies += try OutboxMessage.placementCopies(of: finished, nodes: change.nodes, topology: topology)
                    }
                }
            }
            try EventRecorder.append(events.map { ($0, nil) }, messages: copies, topology: topology, in: db)
            return stale
        }
    }

    // MARK: Start and stop

    /// Runs a previous agent of this node started are gone with it: recorded `lost`, and their
    /// job finished (rank 0), so the scheduler frees the capacity.
    private func recoverOrphans() throws {
        try pool.transaction { db in
            let lost = try RunStore.orphaned(node: settings.nodeID, in: db)
            // What they run may outlive the agent that started them.
            for run in lost { launcher.stopOrphan(run) }
            // Rank 0 of the job's current attempt ends that attempt (the scheduler retries it);
            // a run of an attempt the job has moved past (its node was lost meanwhile) only reports itself.
            let current = try RunStore.currentAttempts(of: lost.map(\.jobID), in: db)
            // Every other rank reports its end too (run.finished), so its metering closes.
            let events = lost.map { run -> EventEnvelope in
                let stale = current[run.jobID].map { run.attempt < $0 } ?? false
                return envelope(
                    run.rank == 0 && !stale ? "job.finished" : "run.finished", jobID: run.jobID, runID: run.runID, tenant: run.tenant,
                    [
                        "outcome": "lost", "reason": "the node agent restarted while it ran", "rank": .number(Double(run.rank)),
                        "attempt": .number(Double(run.attempt)),
                    ])
            }
            try EventRecorder.append(events.map { ($0, nil) }, topology: topology, in: db)
            if !lost.isEmpty { logger.warning("runs lost with the previous agent", metadata: ["count": "\(lost.count)"]) }
        }
    }

    /// The agent is stopping: its runs are stopped (SIGTERM, SIGKILL after the grace period) and
    /// recorded; the training programs checkpoint on SIGTERM if they can.
    private func stopAll() {
        guard !supervised.isEmpty else { return }
        logger.info("stopping runs", metadata: ["count": "\(supervised.count)"])
        for run in supervised.values { run.process.signal(SIGTERM) }
        let deadline = ContinuousClock.now + settings.gracePeriod
        while supervised.values.contains(where: { $0.process.poll() == .running }), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        for run in supervised.values { run.process.killAndWait(timeout: .seconds(2)) }
        for (id, run) in supervised { supervised[id] = run.stopping() }
        do { try watch(now: .now) } catch { logger.error("could not record the runs it stopped", metadata: ["error": "\(error)"]) }
    }

    // MARK: Helpers

    private var absoluteWorkDirectory: String {
        settings.workDirectory.hasPrefix("/") ? settings.workDirectory : FileManager.default.currentDirectoryPath + "/" + settings.workDirectory
    }

    private func subjects(_ jobID: UUID, _ runID: UUID) -> [String: String] {
        ["job": jobID.uuidString.lowercased(), "run": runID.uuidString.lowercased(), "node": settings.nodeID]
    }

    private func event(_ type: String, _ change: RunChange, _ extra: [String: JSONValue]) -> EventEnvelope {
        envelope(type, jobID: change.jobID, runID: change.runID, tenant: change.tenant, extra)
    }

    private func finishedEvent(
        _ jobID: UUID, _ runID: UUID, rank: Int, attempt: Int, tenant: String?, outcome: String, reason: String
    ) -> EventEnvelope {
        envelope(
            rank == 0 ? "job.finished" : "run.finished", jobID: jobID, runID: runID, tenant: tenant,
            ["outcome": .string(outcome), "reason": .string(reason), "rank": .number(Double(rank)), "attempt": .number(Double(attempt))])
    }

    /// Every event of a run: the job and run in the payload and subjects, the job as correlation.
    private func envelope(_ type: String, jobID: UUID, runID: UUID, tenant: String?, _ extra: [String: JSONValue]) -> EventEnvelope {
        var payload = extra
        payload["job_id"] = .string(jobID.uuidString.lowercased())
        payload["run_id"] = .string(runID.uuidString.lowercased())
        return EventEnvelope(
            type: type, producer: PlacementHandler.workerName, tenant: tenant, subjects: subjects(jobID, runID), correlationID: jobID,
            payload: .object(payload))
    }

    static func json(_ metrics: [String: Double]) -> JSONValue { .object(metrics.mapValues { .number($0) }) }

    static func path(ofFileURI uri: String) -> String {
        URL(string: uri)?.path ?? String(uri.dropFirst("file://".count))
    }
}
