import Admission
import AgentCore
import ArgumentParser
import Foundation
import NodeAgent
import Postgres

/// `agentctl jobs runs|checkpoints|logs`: what the node agents did with a job.
extension Jobs {
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A job's runs: one per replica and attempt, with node, state and last step.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Job id or idempotency key.") var job: String

        func run() throws {
            let runs = try options.withDatabase { db in try RunQueries.runs(of: try resolveJob(job, in: db), in: db) }
            if options.output == .json {
                for run in runs { try printJSON(run) }
                return
            }
            var table = TextTable("RUN", "NODE", "ATTEMPT", "STAGE", "RANK", "STATE", "EXIT", "LAST STEP", "STARTED", "FINISHED")
            for run in runs {
                table.add(
                    run.runID, run.node, String(run.attempt), String(run.stage), "\(run.rank)/\(run.worldSize)", run.state, run.exitCode.map(String.init) ?? "",
                    run.lastStep.map(String.init) ?? "", run.startedAt.map { ISO8601.string(from: $0) } ?? "",
                    run.finishedAt.map { ISO8601.string(from: $0) } ?? "")
            }
            print(runs.isEmpty ? "no runs yet (not placed, or no node agent runs its node)" : table.render())
        }
    }

    struct Checkpoints: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A job's checkpoints, oldest first (step, where, metrics); `discarded`: past a rollback's target.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Job id or idempotency key.") var job: String

        func run() throws {
            let checkpoints = try options.withDatabase { db in try RunQueries.checkpoints(of: try resolveJob(job, in: db), in: db) }
            if options.output == .json {
                for checkpoint in checkpoints { try printJSON(checkpoint) }
                return
            }
            var table = TextTable("STEP", "RECORDED", "URI", "METRICS", "")
            for checkpoint in checkpoints {
                let metrics: String
                if case .object(let values) = checkpoint.metrics {
                    metrics = values.keys.sorted().map { key in
                        if case .number(let number) = values[key]! { return "\(key)=\(Self.short(number))" }
                        return key
                    }.joined(separator: " ")
                } else {
                    metrics = ""
                }
                table.add(
                    String(checkpoint.step), ISO8601.string(from: checkpoint.recordedAt), checkpoint.uri, metrics,
                    checkpoint.discarded ? "discarded" : "")
            }
            print(checkpoints.isEmpty ? "no checkpoints recorded" : table.render())
        }

        static func short(_ number: Double) -> String {
            number.rounded() == number && abs(number) < 1e12 ? String(Int64(number)) : String(format: "%.4g", number)
        }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A run's output (stdout, progress lines included), read from the node agent's log file on this machine.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Job id or idempotency key.") var job: String
        @Option(help: "Which replica.") var rank: Int = 0
        @Flag(help: "Keep printing what the run writes until it ends.") var follow = false

        func run() throws {
            let (jobID, initial) = try options.withDatabase { db -> (UUID, RunQueries.RunSummary?) in
                let id = try resolveJob(job, in: db)
                return (id, try RunQueries.runs(of: id, in: db).last { $0.rank == rank })
            }
            guard let run = initial, let path = run.logPath else {
                throw ValidationError("job \(job) has no run of rank \(rank) with a log yet")
            }
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ValidationError("the log \(path) is not on this machine (node \(run.node))")
            }
            defer { try? handle.close() }
            while true {
                if let data = try handle.readToEnd(), !data.isEmpty { FileHandle.standardOutput.write(data) }
                guard follow else { return }
                let state = try options.withDatabase { db in try RunQueries.runs(of: jobID, in: db).first { $0.runID == run.runID }?.state }
                if state != "running" && state != "starting" {
                    if let data = try handle.readToEnd(), !data.isEmpty { FileHandle.standardOutput.write(data) }
                    return
                }
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }
}

/// A job id, or a job's idempotency key.
func resolveJob(_ reference: String, in db: PostgresConnection) throws -> UUID {
    if let id = UUID(uuidString: reference) { return id }
    guard let id = try JobQueries.find(reference, in: db)?.jobID.flatMap(UUID.init(uuidString:)) else {
        throw ValidationError("no job \(reference) (a job id or an admitted request's idempotency key)")
    }
    return id
}
