import AMQP
import AgentCore
import AgentRuntime
import ArgumentParser
import Foundation
import Postgres

/// `agentctl`: the operator's command line. Connections come from AGENTMGR_AMQP_URL and
/// AGENTMGR_DATABASE_URL (or config/agentmgr.json); `eval "$(make -s services)"` sets both.
public struct AgentCtl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agentctl",
        abstract: "Operate AgentManager: submit jobs, manage tenants and agents, read the event log.",
        subcommands: [
            Submit.self, Jobs.self, Tenants.self, Agents.self, Nodes.self, Health.self, Cost.self, Events.self, DeadLetters.self, Migrate.self, Demo.self,
        ])

    public init() {}
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Configuration file (default: config/agentmgr.json if present).")
    var config: String?

    @Option(help: "Output format: table or json.")
    var output: OutputFormat = .table

    func load() throws -> AgentConfig {
        do {
            return try AgentConfig.load(path: config)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Turns library errors into one clear line (no stack, no secrets) and exit code 1.
func failing<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("agentctl: error: \(error)\n".utf8))
        throw ExitCode.failure
    }
}
