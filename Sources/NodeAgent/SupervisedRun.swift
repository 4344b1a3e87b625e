import Foundation

/// A run the supervisor watches: its process, where its stdout log has been read up to, and what
/// it reported since the last time that was recorded.
struct SupervisedRun {
    let runID: UUID
    let jobID: UUID
    let rank: Int
    let worldSize: Int
    let tenant: String
    let process: any RunProcess
    let stdoutPath: String
    let deadline: ContinuousClock.Instant
    /// The node of every rank (where the next curriculum stage starts).
    var nodes: [String] = []
    /// Its curriculum stage, and the job's curriculum (empty: none); its attempt (rollbacks).
    var stage = 0
    var attempt = 0
    var curriculum: [CurriculumStep] = []
    var offset: UInt64 = 0
    var partial: [UInt8] = []
    var terminateSentAt: ContinuousClock.Instant?
    var timedOut = false
    var stoppedByAgent = false
    /// Its job ended (rank 0 finished) while it ran: when it is stopped unless it ends first, and
    /// whether it was.
    var stopAt: ContinuousClock.Instant?
    var stoppedWithJob = false
    /// A rollback or a requeue replaced it (the outcome it ends with: `rolled_back`, or the
    /// requeue's reason): its end is not the job's, its later checkpoints are discarded.
    var supersededOutcome: String?
    /// The preemption worker stopped it: it ends `preempted` (the scheduler requeues the job).
    var preempted = false
    /// Its tenant spent its budget: it stops after its next checkpoint, or at this instant if none
    /// comes (`budgetStopBy`), and ends `budget_exceeded` (the scheduler requeues and holds the job).
    var budgetStopBy: ContinuousClock.Instant?
    var budgetStopped = false
    var checkpointIntervalSeconds: Int?
    var lastReportAt: ContinuousClock.Instant?
    var progress: (step: Int64, metrics: [String: Double])?
    var checkpoints: [(step: Int64, uri: String, metrics: [String: Double])] = []
    var result: [String: Double]?
    /// The metrics of the last progress line (a stage's result when it printed none).
    var lastMetrics: [String: Double]?

    init(
        runID: UUID, jobID: UUID, rank: Int, worldSize: Int, tenant: String, process: any RunProcess, stdoutPath: String,
        deadline: ContinuousClock.Instant
    ) {
        self.runID = runID
        self.jobID = jobID
        self.rank = rank
        self.worldSize = worldSize
        self.tenant = tenant
        self.process = process
        self.stdoutPath = stdoutPath
        self.deadline = deadline
    }

    /// Complete lines written to stdout since the last call (a partial last line waits).
    mutating func readNewLines() -> [String] {
        guard let handle = FileHandle(forReadingAtPath: stdoutPath) else { return [] }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd(), !data.isEmpty else { return [] }
        offset += UInt64(data.count)
        partial += data
        guard let lastNewline = partial.lastIndex(of: UInt8(ascii: "\n")) else { return [] }
        let complete = partial[..<lastNewline]
        partial = Array(partial[(lastNewline + 1)...])
        return complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map {
            String(decoding: $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0, as: UTF8.self)
        }
    }

    mutating func take(_ record: ProgressLine) {
        switch record {
        case .progress(let step, let metrics):
            progress = (step, metrics)
            lastMetrics = metrics
        case .checkpoint(let step, let uri, let metrics): checkpoints.append((step, uri, metrics))
        case .result(let metrics): result = metrics
        }
    }

    /// What to record now: new checkpoints always; progress at most once per `progressInterval`
    /// (and at the end); how the run ended, if it did.
    func change(status: RunStatus, now: ContinuousClock.Instant, progressInterval: Duration) -> RunChange {
        let ended = status != .running
        let progressDue = lastReportAt.map { now - $0 >= progressInterval } ?? true
        var change = RunChange(
            runID: runID, jobID: jobID, rank: rank, tenant: tenant, checkpoints: checkpoints,
            progress: (progressDue || ended) ? progress : nil, reportProgress: progressDue || ended, ending: nil,
            result: result ?? (ended ? lastMetrics : nil), nodes: nodes, stage: stage, attempt: attempt, curriculum: curriculum,
            superseded: supersededOutcome != nil)
        switch status {
        case .running: break
        case .exited(let code) where supersededOutcome != nil:
            change.ending = .init(state: "stopped", outcome: supersededOutcome!, exitCode: code, signal: nil)
        case .signalled(let signal) where supersededOutcome != nil:
            change.ending = .init(state: "stopped", outcome: supersededOutcome!, exitCode: nil, signal: signal)
        case .exited(let code) where preempted:
            change.ending = .init(state: "preempted", outcome: "preempted", exitCode: code, signal: nil)
        case .signalled(let signal) where preempted:
            change.ending = .init(state: "preempted", outcome: "preempted", exitCode: nil, signal: signal)
        case .exited(let code) where budgetStopped:
            change.ending = .init(state: "stopped", outcome: "budget_exceeded", exitCode: code, signal: nil)
        case .signalled(let signal) where budgetStopped:
            change.ending = .init(state: "stopped", outcome: "budget_exceeded", exitCode: nil, signal: signal)
        case .exited(let code) where stoppedWithJob:
            change.ending = .init(state: "stopped", outcome: "stopped_with_job", exitCode: code, signal: nil)
        case .signalled(let signal) where stoppedWithJob:
            change.ending = .init(state: "stopped", outcome: "stopped_with_job", exitCode: nil, signal: signal)
        case .exited(let code) where stoppedByAgent:
            // Stopped with the agent: not the job's end, whatever the program exited with.
            change.ending = .init(state: "lost", outcome: "interrupted", exitCode: code, signal: nil)
        case .signalled(let signal) where stoppedByAgent:
            change.ending = .init(state: "lost", outcome: "interrupted", exitCode: nil, signal: signal)
        case .exited(let code) where code == 0 && !timedOut:
            change.ending = .init(state: "succeeded", outcome: "succeeded", exitCode: code, signal: nil)
        case .exited(let code):
            change.ending = timedOut
                ? .init(state: "timed_out", outcome: "timed_out", exitCode: code, signal: nil)
                : .init(state: "failed", outcome: "failed", exitCode: code, signal: nil)
        case .signalled(let signal):
            change.ending = .init(state: timedOut ? "timed_out" : "failed", outcome: timedOut ? "timed_out" : "failed", exitCode: nil, signal: signal)
        }
        return change
    }

    /// This run after `change` was recorded.
    func afterReport(_ change: RunChange, now: ContinuousClock.Instant) -> SupervisedRun {
        var next = self
        next.checkpoints.removeAll()
        if change.progress != nil {
            next.progress = nil
            next.lastReportAt = now
        }
        return next
    }

    func stopping() -> SupervisedRun {
        var next = self
        next.stoppedByAgent = true
        return next
    }
}

/// What one supervision round records for one run, in the round's transaction.
struct RunChange {
    struct Ending {
        var state: String
        var outcome: String
        var exitCode: Int32?
        var signal: Int32?
    }

    var runID: UUID
    var jobID: UUID
    var rank: Int
    var tenant: String
    var checkpoints: [(step: Int64, uri: String, metrics: [String: Double])]
    var progress: (step: Int64, metrics: [String: Double])?
    var reportProgress: Bool
    var ending: Ending?
    var result: [String: Double]?
    var nodes: [String]
    var stage: Int
    var attempt: Int
    var curriculum: [CurriculumStep]
    /// Replaced by a rollback or a requeue (or found stale: fenced).
    var superseded: Bool

    var hasSomething: Bool { !checkpoints.isEmpty || progress != nil || ending != nil }
}
