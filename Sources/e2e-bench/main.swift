import AMQP
import Admission
import AgentCore
import ArgumentParser
import Foundation
import Postgres

/// End-to-end benchmark: job requests through the requests queue, admission and the scheduler,
/// measured from the timestamps the system writes to PostgreSQL. `scripts/bench.sh` (`make bench`)
/// sets up the services, registry, cluster and workers and runs this twice.
struct E2EBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e-bench",
        abstract: "Publish a mixed job workload to the requests queue and measure admission and scheduling end to end.")

    @Option(help: "Mode name: the key of this run's object in the results file.") var mode: String = "fixed_rate"
    @Option(help: "Offered rate in jobs/s (0 = as fast as it goes).") var rate: Double = 1_000
    @Option(help: "Seconds to publish at --rate (ignored when --rate is 0).") var duration: Double = 20
    @Option(help: "Jobs to publish when --rate is 0.") var jobs: Int = 20_000
    @Option(help: "Jobs per publish (one confirm window).") var batch: Int = 50
    @Option(help: "Most jobs per request message (batch submission, same priority class; 1 = each job its own message).")
    var submitBatch: Int = 1
    @Option(help: "Run id; part of every idempotency key so runs never collide.") var runID: String = "bench-\(Int(Date().timeIntervalSince1970))"
    @Option(help: "Tenants, comma-separated (load shares 1, 2, 3, ... in this order).") var tenants: String = "bench-a,bench-b,bench-c"
    @Option(help: "Agent every job runs (registered for each tenant).") var agent: String = "bench-trainer@1.0.0"
    @Option(help: "Seconds to wait for every job to be decided and scheduled or pending.") var timeout: Double = 300
    @Option(help: "A worker process to measure, NAME=PID (repeatable).") var process: [String] = []
    @Option(help: "PID of the broker (beam.smp); found by name when absent.") var brokerPID: Int32?
    @Option(help: "PID of the PostgreSQL postmaster; found by name when absent.") var postgresPID: Int32?
    @Option(help: "Simulated runtime in seconds: each placed job is finished (job.finished published) this long after it is scheduled, so capacity turns over (0 = jobs never finish during the run).")
    var runtime: Double = 0
    @Flag(help: "First free the capacity held by earlier bench runs' jobs (publishes job.finished for them).") var releasePrevious = false
    @Option(help: "Results file; this mode's object is replaced, others are kept.") var results: String = "bench/results.json"

    func validate() throws {
        guard rate >= 0, batch >= 1, jobs >= 1, duration > 0 else { throw ValidationError("--rate ≥ 0, --batch ≥ 1, --jobs ≥ 1, --duration > 0") }
        guard (1...EventBatch.maxEvents).contains(submitBatch) else { throw ValidationError("--submit-batch must be 1...\(EventBatch.maxEvents)") }
        for entry in process where entry.split(separator: "=").count != 2 || Int32(entry.split(separator: "=").last ?? "") == nil {
            throw ValidationError("--process takes NAME=PID, got \(entry)")
        }
    }

    func run() throws {
        let config = try AgentConfig.load()
        let tenantList = tenants.split(separator: ",").map(String.init)
        let total = rate > 0 ? Int((rate * duration).rounded()) : jobs
        let keyPrefix = "\(runID)-\(mode)-"
        let processes: [(name: String, pid: Int32)] = process.map {
            let parts = $0.split(separator: "=")
            return (String(parts[0]), Int32(parts[1])!)
        }
        let broker = brokerPID ?? ProcessStats.find(command: "beam.smp")
        let postmaster = postgresPID ?? ProcessStats.find(command: "postgres")

        let database = try PostgresConnection(url: config.databaseURL, applicationName: "e2e-bench")
        let client = try SubmissionClient(url: try AMQPURL(parsing: config.amqpURL), topology: Topology(prefix: config.topologyPrefix))

        let tenantParam = tenantList.joined(separator: ",")
        let likeParam = keyPrefix.replacingOccurrences(of: "_", with: "\\_") + "%"
        if releasePrevious {
            try ReleasePrevious.run(
                tenants: tenantParam, keepLike: likeParam, url: try AMQPURL(parsing: config.amqpURL),
                topology: Topology(prefix: config.topologyPrefix), database: database, timeout: timeout, log: log)
            Thread.sleep(forTimeInterval: 2)  // let the scheduler finish the round the releases woke
        }

        log("run \(runID), mode \(mode): \(total) jobs, " + (rate > 0 ? "offered \(Int(rate)) jobs/s for \(duration) s" : "as fast as it goes")
            + ", batches of \(batch)" + (submitBatch > 1 ? " (up to \(submitBatch) jobs per message)" : " (a message per job)")
            + ", tenants \(tenantList.joined(separator: "/"))")

        let finisher = Finisher(
            url: try AMQPURL(parsing: config.amqpURL), topology: Topology(prefix: config.topologyPrefix), tenants: Set(tenantList),
            runtime: runtime)
        try finisher.start()
        defer { finisher.stop() }

        // CPU before.
        let benchCPUBefore = ProcessStats.cpuSeconds(getpid()) ?? 0
        let workerCPUBefore = processes.map { ProcessStats.cpuSeconds($0.pid) ?? 0 }
        let brokerBefore = broker.flatMap { ProcessStats.cpuSeconds($0, children: true) } ?? 0
        let databaseBefore = postmaster.map { ProcessStats.treeCPUSeconds(root: $0) } ?? 0

        // Polls below look only at rows decided since now (indexed), not at every earlier run's.
        let runStarted = Date().addingTimeInterval(-1)

        // Publish, paced per batch.
        var workload = Workload(tenants: tenantList, agent: agent, keyPrefix: keyPrefix, seed: 0x5EED)
        let clock = ContinuousClock()
        let start = clock.now
        var published = 0
        var lastReport = start
        while published < total {
            let count = min(batch, total - published)
            if rate > 0 {
                let due = start + .seconds(Double(published) / rate)
                if due > clock.now { Thread.sleep(forTimeInterval: Self.seconds(due - clock.now)) }
            }
            let requests = (published..<(published + count)).map { workload.request(index: $0) }
            try client.publish(requests, withReplies: false, batch: submitBatch)
            published += count
            if clock.now - lastReport >= .seconds(1) {
                lastReport = clock.now
                let elapsed = Self.seconds(clock.now - start)
                log(String(format: "publishing: %d/%d sent (%.0f jobs/s)", published, total, Double(published) / elapsed))
            }
        }
        let publishSeconds = Self.seconds(clock.now - start)
        log(String(format: "published %d jobs in %.2f s (%.0f jobs/s, persistent, confirmed)", total, publishSeconds, Double(total) / publishSeconds))

        // Wait until every request is decided and every admitted job is scheduled or pending with a reason.
        let deadline = clock.now + .seconds(timeout)
        var finished = false
        var status = (decided: 0, admitted: 0, settled: 0)
        while clock.now < deadline {
            let decisions = try database.query(
                """
                SELECT count(*), count(*) FILTER (WHERE decision = 'admitted') FROM admission_requests
                WHERE decided_at >= $3 AND tenant = ANY(string_to_array($1, ',')) AND idempotency_key LIKE $2
                """, [tenantParam, likeParam, runStarted])
            // Placed or pending with a reason: counted from the scheduler's events (no database poll).
            let settled = finisher.settled
            status = (Int(try decisions[0].text(0) ?? "0") ?? 0, Int(try decisions[0].text(1) ?? "0") ?? 0, settled)
            log("waiting: \(status.decided)/\(total) decided (\(status.admitted) admitted), \(status.settled) placed or waiting with a reason")
            if status.decided >= total && status.settled >= status.admitted {
                finished = true
                break
            }
            Thread.sleep(forTimeInterval: 1)
        }
        if !finished { log("timed out after \(Int(timeout)) s: reporting what was done") }

        // CPU after.
        let workerCPU = zip(processes, workerCPUBefore).map { (process, before) in
            (process.name, (ProcessStats.cpuSeconds(process.pid) ?? before) - before, ProcessStats.peakRSSMiB(process.pid) ?? 0)
        }
        let brokerCPU = (broker.flatMap { ProcessStats.cpuSeconds($0, children: true) } ?? brokerBefore) - brokerBefore
        let benchCPU = (ProcessStats.cpuSeconds(getpid()) ?? benchCPUBefore) - benchCPUBefore
        let databaseCPU = (postmaster.map { ProcessStats.treeCPUSeconds(root: $0) } ?? databaseBefore) - databaseBefore

        let pendingAtEnd = Int(
            try database.query(
                """
                SELECT count(*) FROM jobs j JOIN sched_jobs s ON s.job_id = j.id
                WHERE j.admitted_at >= $3 AND j.tenant = ANY(string_to_array($1, ',')) AND j.idempotency_key LIKE $2 AND s.state = 'pending'
                """, [tenantParam, likeParam, runStarted])[0].text(0) ?? "0") ?? 0

        // Latencies and throughput from the system's own timestamps.
        let rows = try database.query(
            """
            SELECT extract(epoch FROM j.submitted_at)::float8, extract(epoch FROM a.decided_at)::float8,
                   extract(epoch FROM s.scheduled_at)::float8, j.id::text, j.priority_class
            FROM jobs j
            JOIN admission_requests a ON a.tenant = j.tenant AND a.idempotency_key = j.idempotency_key
            LEFT JOIN sched_jobs s ON s.job_id = j.id
            WHERE j.tenant = ANY(string_to_array($1, ',')) AND j.idempotency_key LIKE $2
            """, [tenantParam, likeParam])
        let bounds = try database.query(
            """
            SELECT extract(epoch FROM min(decided_at))::float8, extract(epoch FROM max(decided_at))::float8 FROM admission_requests
            WHERE tenant = ANY(string_to_array($1, ',')) AND idempotency_key LIKE $2
            """, [tenantParam, likeParam])
        var submitted: [Double] = []
        var toAdmitted: [Double] = []
        var toScheduled: [Double] = []
        var toPlacementSeen: [Double] = []
        var scheduledBySubmit: [(submit: Double, latency: Double)] = []
        var scheduledByClass: [String: [Double]] = [:]
        let arrivals = finisher.placementArrivals
        var lastScheduled = 0.0
        for row in rows {
            guard let submit = Double(try row.text(0) ?? ""), let decided = Double(try row.text(1) ?? "") else { continue }
            submitted.append(submit)
            toAdmitted.append((decided - submit) * 1000)
            if let id = try row.text(3), let seen = arrivals[id.lowercased()] { toPlacementSeen.append((seen - submit) * 1000) }
            if let scheduled = Double(try row.text(2) ?? "") {
                toScheduled.append((scheduled - submit) * 1000)
                scheduledBySubmit.append((submit, (scheduled - submit) * 1000))
                scheduledByClass[try row.text(4) ?? "?", default: []].append((scheduled - submit) * 1000)
                lastScheduled = max(lastScheduled, scheduled)
            }
        }
        let firstSubmit = submitted.min() ?? 0
        let lastDecision = Double(try bounds[0].text(1) ?? "") ?? firstSubmit
        let admittedRate = lastDecision > firstSubmit ? Double(toAdmitted.count) / (lastDecision - firstSubmit) : 0
        let scheduledRate = lastScheduled > firstSubmit ? Double(toScheduled.count) / (lastScheduled - firstSubmit) : 0
        toAdmitted.sort()
        toScheduled.sort()
        toPlacementSeen.sort()

        var result: [String: Any] = [
            "mode": mode,
            "run_id": runID,
            "offered_rate": rate > 0 ? rate : NSNull(),
            "jobs": total,
            "completed": finished,
            "published_jobs_per_s": Self.round(Double(total) / publishSeconds),
            "jobs_per_request_message": submitBatch,
            "decided": status.decided,
            "admitted": status.admitted,
            "rejected": status.decided - status.admitted,
            "scheduled": toScheduled.count,
            "pending": pendingAtEnd,
            "admitted_jobs_per_s": Self.round(admittedRate),
            "scheduled_jobs_per_s": Self.round(scheduledRate),
            "window_admitted_s": Self.round(lastDecision - firstSubmit),
            "window_scheduled_s": Self.round(lastScheduled > 0 ? lastScheduled - firstSubmit : 0),
            "broker_cpu_seconds": Self.round(brokerCPU),
            "database_cpu_seconds": Self.round(databaseCPU),
            "bench_client_cpu_seconds": Self.round(benchCPU),
            "simulated_runtime_s": runtime,
            "finished_during_run": finisher.finished,
            "machine": ["nproc": ProcessInfo.processInfo.activeProcessorCount, "cpu_model": ProcessStats.cpuModel],
            "finished_at": ISO8601.string(from: Date()),
        ]
        for (name, values) in [
            ("submit_to_admitted", toAdmitted), ("submit_to_scheduled", toScheduled), ("submit_to_placement_seen", toPlacementSeen),
        ] {
            result["p50_\(name)_ms"] = Self.percentile(values, 0.50).map(Self.round) ?? NSNull()
            result["p99_\(name)_ms"] = Self.percentile(values, 0.99).map(Self.round) ?? NSNull()
            result["p999_\(name)_ms"] = Self.percentile(values, 0.999).map(Self.round) ?? NSNull()
        }
        // Where in the run the slow jobs were (stderr, and `timeline_submit_to_scheduled` in the file).
        let timeline = LatencyTimeline(scheduledBySubmit)
        log("submit→scheduled by second of submission:\n" + timeline.lines.joined(separator: "\n"))
        result["timeline_submit_to_scheduled"] = timeline.json
        if let worst = timeline.worst {
            result["worst_second_p99_submit_to_scheduled_ms"] = Self.round(worst.p99)
            result["worst_second_offset_s"] = worst.offset
        }
        result["seconds_over_50ms_p99_submit_to_scheduled"] = timeline.seconds(over: 50)
        // By priority class: admission serves the higher lanes first, so when it falls behind
        // (a burst on busy cores) the lower classes wait out the backlog and make the overall p99.
        let classes = ["critical", "high", "normal", "low", "batch"]
        var byClass: [String: Any] = [:]
        for name in classes {
            let values = (scheduledByClass[name] ?? []).sorted()
            byClass[name] = ["jobs": values.count, "p50_ms": Self.percentile(values, 0.5).map(Self.round) ?? NSNull(),
                             "p99_ms": Self.percentile(values, 0.99).map(Self.round) ?? NSNull()]
        }
        result["submit_to_scheduled_by_class"] = byClass
        result["p99_submit_to_scheduled_by_class"] = classes.map { name in
            Self.percentile((scheduledByClass[name] ?? []).sorted(), 0.99).map { String(Int($0.rounded())) } ?? "–"
        }.joined(separator: " / ")
        var perProcess: [String: Any] = [:]
        for (name, cpu, rss) in workerCPU {
            perProcess[name] = ["cpu_seconds": Self.round(cpu), "peak_rss_mib": Self.round(rss)]
        }
        result["processes"] = perProcess

        // Merge into the results file: one object per mode.
        var all: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: results),
            let existing = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        {
            all = existing
        }
        all[mode] = result
        let directory = (results as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let data = try JSONSerialization.data(withJSONObject: all, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: results))
        log("wrote \(results)")
        print(Self.table(all))
        if !finished { throw ExitCode(2) }
    }

    // MARK: helpers

    func log(_ message: String) {
        FileHandle.standardError.write(Data("[e2e-bench] \(message)\n".utf8))
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func round(_ value: Double) -> Double { (value * 100).rounded() / 100 }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let index = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[index]
    }

    /// A Markdown table: one column per mode in the results file.
    static func table(_ all: [String: Any]) -> String {
        let modes = all.keys.sorted { ($0 == "fixed_rate" ? 0 : 1, $0) < ($1 == "fixed_rate" ? 0 : 1, $1) }
        let objects = modes.compactMap { all[$0] as? [String: Any] }
        func cell(_ value: Any?) -> String {
            switch value {
            case let number as NSNumber:
                let double = number.doubleValue
                return double == double.rounded() && abs(double) < 1e12 ? String(Int(double)) : String(format: "%.2f", double)
            case let string as String: return string
            case nil, is NSNull: return "–"
            default: return "\(value!)"
            }
        }
        var lines = ["| metric | " + modes.joined(separator: " | ") + " |", "|---|" + modes.map { _ in "---:|" }.joined()]
        let keys = [
            ("offered_rate", "offered jobs/s"), ("jobs", "jobs"), ("jobs_per_request_message", "most jobs per request message"),
            ("published_jobs_per_s", "published jobs/s (confirmed)"),
            ("admitted", "admitted"), ("scheduled", "scheduled"), ("pending", "pending (no room / waiting)"),
            ("admitted_jobs_per_s", "admitted jobs/s"), ("scheduled_jobs_per_s", "scheduled jobs/s"),
            ("p50_submit_to_admitted_ms", "p50 submit→admitted ms"), ("p99_submit_to_admitted_ms", "p99 submit→admitted ms"),
            ("p999_submit_to_admitted_ms", "p99.9 submit→admitted ms"), ("p50_submit_to_scheduled_ms", "p50 submit→scheduled ms"),
            ("p99_submit_to_scheduled_ms", "p99 submit→scheduled ms"), ("p999_submit_to_scheduled_ms", "p99.9 submit→scheduled ms"),
            ("p50_submit_to_placement_seen_ms", "p50 submit→placement seen ms"), ("p99_submit_to_placement_seen_ms", "p99 submit→placement seen ms"),
            ("p999_submit_to_placement_seen_ms", "p99.9 submit→placement seen ms"),
            ("p99_submit_to_scheduled_by_class", "p99 submit→scheduled ms by class (critical / high / normal / low / batch)"),
            ("worst_second_p99_submit_to_scheduled_ms", "worst second's p99 submit→scheduled ms"),
            ("worst_second_offset_s", "worst second (s after the first submit)"),
            ("seconds_over_50ms_p99_submit_to_scheduled", "seconds whose p99 submit→scheduled > 50 ms"),
            ("broker_cpu_seconds", "broker CPU s"), ("database_cpu_seconds", "database CPU s"),
            ("bench_client_cpu_seconds", "bench client CPU s (publisher, finisher)"), ("simulated_runtime_s", "simulated job runtime s"),
            ("finished_during_run", "jobs finished during the run"), ("completed", "all settled in time"),
        ]
        for (key, label) in keys where key == "completed" {
            lines.append("| \(label) | " + objects.map { (($0[key] as? Bool) ?? false) ? "yes" : "no" }.joined(separator: " | ") + " |")
        }
        for (key, label) in keys where key != "completed" { lines.append("| \(label) | " + objects.map { cell($0[key]) }.joined(separator: " | ") + " |") }
        let names = Set(objects.flatMap { (($0["processes"] as? [String: Any]) ?? [:]).keys }).sorted()
        for name in names {
            lines.append("| \(name) CPU s | " + objects.map { cell((($0["processes"] as? [String: Any])?[name] as? [String: Any])?["cpu_seconds"]) }.joined(separator: " | ") + " |")
            lines.append("| \(name) peak RSS MiB | " + objects.map { cell((($0["processes"] as? [String: Any])?[name] as? [String: Any])?["peak_rss_mib"]) }.joined(separator: " | ") + " |")
        }
        if let machine = objects.first?["machine"] as? [String: Any] {
            lines.append("")
            lines.append("Machine: \(cell(machine["nproc"])) CPUs, \(cell(machine["cpu_model"])).")
        }
        return lines.joined(separator: "\n")
    }
}

E2EBench.main()
