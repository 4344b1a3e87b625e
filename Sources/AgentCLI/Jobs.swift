import Admission
import AgentCore
import ArgumentParser
import Foundation
import Postgres

struct Jobs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect jobs and admission decisions.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent admission decisions (admitted jobs and rejected requests).")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Only this tenant.") var tenant: String?
        @Option(help: "admitted or rejected.") var decision: String?
        @Option(help: "How many of the most recent.") var limit: Int = 50

        func validate() throws {
            if let decision, !["admitted", "rejected"].contains(decision) { throw ValidationError("--decision must be admitted or rejected") }
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 100000") }
        }

        func run() throws {
            let jobs = try options.withDatabase { try JobQueries.list(tenant: tenant, decision: decision, limit: limit, in: $0) }
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
