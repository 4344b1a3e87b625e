import AMQP
import AgentCore
import AgentRuntime
import ArgumentParser
import Foundation
import Postgres

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The sample workload that shows events flowing through the consumer runtime.",
        subcommands: [Run.self])

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send demo.task events to demo-worker, wait until all are applied, print a summary.",
            discussion: """
                Records COUNT demo.task events in the event log and outbox, relays them to the broker, \
                adds one malformed message and one task the worker always fails on, then waits for \
                demo-worker (which must be running) to apply every good task exactly once.
                """)

        @OptionGroup var options: GlobalOptions

        @Option(help: "How many demo.task events to send.")
        var count: Int = 2_000

        @Option(help: "Seconds to wait for the worker before giving up.")
        var timeout: Int = 120

        func validate() throws {
            guard (1...1_000_000).contains(count) else { throw ValidationError("--count must be between 1 and 1000000") }
            guard timeout >= 1 else { throw ValidationError("--timeout must be at least 1 second") }
        }

        func run() throws {
            let config = try options.load()
            try failing { try DemoWorkload(config: config, count: count, timeout: .seconds(timeout)).run() }
        }
    }
}
