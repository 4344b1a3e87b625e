import AgentCore
import ArgumentParser
import Foundation
import NodeAgent
import Postgres

extension Jobs {
    /// `agentctl jobs rollback JOB --to CHECKPOINT` (see `JobRollback`).
    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restart a running job from one of its checkpoints (a step or URI from `agentctl jobs checkpoints`).",
            discussion: """
                The job's runs stop (SIGTERM, SIGKILL after the node agent's grace period) and a new attempt of the \
                checkpoint's curriculum stage starts on the same nodes, resuming from it. Checkpoints past it are kept \
                but marked discarded: nothing resumes from them. The job keeps its place on the cluster.
                """)
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Job id or idempotency key.") var job: String
        @Option(name: .customLong("to"), help: "The checkpoint: its step, or its URI.") var checkpoint: String
        @Option(help: "Why (recorded in the event).") var reason: String?

        func run() throws {
            let request = try options.withPool { pool, config in
                try pool.transaction { db in
                    try JobRollback.request(
                        jobID: try resolveJob(job, in: db), to: checkpoint, reason: reason, actor: options.actor,
                        topology: Topology(prefix: config.topologyPrefix), in: db)
                }
            }
            if options.output == .json {
                try printJSON(request.event)
                return
            }
            print(
                """
                rollback requested: job \(request.jobID.uuidString.lowercased()) restarts from step \(request.step) \
                (\(request.uri)), stage \(request.stage), on \(Set(request.nodes).sorted().joined(separator: ", ")) (the scheduler starts its next attempt)
                follow it with: agentctl jobs runs \(job)
                """)
        }
    }
}
