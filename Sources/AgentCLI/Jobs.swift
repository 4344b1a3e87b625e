import Admission
import AgentCore
import ArgumentParser
import Foundation
import Postgres
import SchedulerWorker

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect jobs and admission decisions.", subcommands: [List.self, Show.self, Why.self, Runs.self, Checkpoints.self, Logs.self, Rollback.self, Manifest.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent admission decisions (admitted jobs and rejected requests).")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Only this tenant.") var tenant: String?
        @Option(help: "admitted or rejected.") var decision: String?
        @Option(help: "pending, scheduled, finished or rejected.") var state: String?
        @Option(help: "How many of the most recent.") var limit: Int = 50

        func validate() throws {
            if let decision, !["admitted", "rejected"].contains(decision) { throw ValidationError("--decision must be admitted or rejected") }
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 100000") }
        }

        func run() throws {
            let jobs = try options.withDatabase { try JobQueries.list(tenant: tenant, decision: decision, limit: limit, in: $0) }
                .filter { job in state.map { job.state == $0 } ?? true }
            if options.output == .json {
                for job in jobs { try printJSON(job) }
                return
            }
            var table = TextTable("JOB / REQUEST", "TENANT", "AGENT", "CLASS", "STATE", "RESOURCES", "COST", "REASON")
            for job in jobs {
                let resources = job.resources.map { "\(job.replicas ?? 1)× " + ($0.gpus > 0 ? "\($0.gpus) GPU" : "\($0.cpu) cores") + " \($0.flavor)" } ?? "-"
                let reason = job.reasons.first.map { $0.code.rawValue + (job.reasons.count > 1 ? " (+\(job.reasons.count - 1) more)" : "") } ?? ""
                table.add(
                    job.jobID ?? job.idempotencyKey, job.tenant ?? "-", job.agent ?? "-", job.priorityClass ?? "-", job.state, resources,
                    job.projectedCost.map { "$\($0)" } ?? "-", reason)
            }
            print(jobs.isEmpty ? "no jobs" : table.render())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job or request, with every rejection reason.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Job id or idempotency key.") var reference: String

        func run() throws {
            guard let job = try options.withDatabase({ try JobQueries.find(reference, in: $0) }) else {
                FileHandle.standardError.write(Data("agentctl: error: no job or request \(reference)\n".utf8))
                throw ExitCode.failure
            }
            if options.output == .json {
                try printJSON(job)
                return
            }
            print("request:   \(job.idempotencyKey)")
            print("decision:  \(job.decision) at \(ISO8601.string(from: job.decidedAt))")
            if let id = job.jobID { print("job:       \(id)") }
            print("tenant:    \(job.tenant ?? "-")")
            if let agent = job.agent { print("agent:     \(agent)") }
            if let priority = job.priorityClass { print("class:     \(priority)") }
            if let resources = job.resources {
                print("resources: \(job.replicas ?? 1) replica(s) × \(resources.gpus) GPU(s), \(resources.cpu) cores, \(resources.memoryGiB) GiB on \(resources.flavor)")
            }
            if let seconds = job.maxRuntimeSeconds { print("runtime:   at most \(seconds / 60) min") }
            if let cost = job.projectedCost { print("cost:      $\(cost) projected (reserved against the budget)") }
            print("state:     \(job.state)")
            for reason in job.reasons { print("reason:    \(reason.code.rawValue)\(reason.field.map { " [\($0)]" } ?? ""): \(reason.message)") }
        }
    }
}

extension Jobs {
    struct Why: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Why a job is waiting (or where it was placed).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Job id or idempotency key.") var job: String

        func run() throws {
            let status = try options.withDatabase { db -> JobPlacementStatus? in
                var id = UUID(uuidString: job)
                if id == nil { id = try JobQueries.find(job, in: db)?.jobID.flatMap(UUID.init(uuidString:)) }
                return try id.flatMap { try JobPlacementQueries.status(of: $0, in: db) }
            }
            guard let status else {
                FileHandle.standardError.write(Data("agentctl: error: the scheduler has no job \(job) (not admitted, or not yet seen)\n".utf8))
                throw ExitCode.failure
            }
            if options.output == .json {
                try printJSON(status)
                return
            }
            print("job \(status.jobID) (\(status.tenant), \(status.priorityClass)): \(status.state)")
            switch status.state {
            case "pending":
                let aged = status.effectiveClass.map { $0 != status.priorityClass ? " (aged to \($0))" : "" } ?? ""
                if let position = status.queuePosition { print("  position \(position) in line\(aged)") }
                print("  \(status.reasonCode ?? "waiting"): \(status.reason ?? "not yet considered by the scheduler")")
                if let details = status.details, !details.isEmpty {
                    print("  " + details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
                }
            default:
                print("  on \(status.nodes.joined(separator: ", "))")
                if status.borrowedUnits > 0 { print("  borrowing \(status.borrowedUnits) units of cohort quota (reclaimable)") }
                if status.backfilled { print("  backfilled ahead of a larger job without delaying it") }
            }
        }
    }
}
