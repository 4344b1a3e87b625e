import Admission
import AgentCore
import ArgumentParser
import Foundation

struct Agents: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register agents and their immutable versions.",
        subcommands: [Register.self, Versions.self, Show.self, Deprecate.self, Rollback.self, List.self])

    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a new version of an agent (the agent is created with its first version).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "NAME@VERSION, e.g. resnet-trainer@1.2.0.") var agent: AgentReference
        @Option(help: "Container image.") var image: String?
        @Option(help: "Command to run (for the local process backend).") var command: String?
        @Option(help: "pytorch, tensorflow, jax or custom.") var framework: String = "custom"
        @Option(help: "Default flavor of a replica.") var flavor: String?
        @Option(help: "Default GPUs per replica.") var gpus: Int?
        @Option(help: "Default cores per replica.") var cpu: Int?
        @Option(help: "Default memory per replica, GiB.") var memoryGib: Int?
        @Flag(help: "The agent writes checkpoints and can resume from them.") var checkpoints = false
        @Option(help: "Description of the agent.") var description: String?
        @Option(help: "Label KEY=VALUE (repeatable).") var label: [String] = []

        func validate() throws {
            guard Framework(rawValue: framework) != nil else {
                throw ValidationError("--framework must be one of \(Framework.allCases.map(\.rawValue).joined(separator: ", ")), got \(framework)")
            }
            guard image != nil || command != nil else { throw ValidationError("give --image or --command") }
            for item in label where !item.contains("=") { throw ValidationError("--label must be KEY=VALUE, got \(item)") }
        }

        func run() throws {
            let tenantName = try tenant.resolved()
            var labels: [String: String] = [:]
            for item in label {
                let parts = item.split(separator: "=", maxSplits: 1)
                labels[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            try options.withRegistry { registry in
                try registry.registerVersion(
                    tenant: tenantName, agent: agent.name, version: agent.version, image: image, command: command,
                    framework: Framework(rawValue: framework)!,
                    defaults: ResourceOverrides(flavor: flavor, gpus: gpus, cpu: cpu, memoryGiB: memoryGib), checkpoints: checkpoints,
                    description: description, labels: labels)
            }
            print("registered \(agent.name)@\(agent.version) for tenant \(tenantName)")
        }
    }

    struct Versions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an agent's versions, oldest first.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "Agent name.") var name: String

        func run() throws {
            let tenantName = try tenant.resolved()
            let versions = try options.withRegistry { registry in try registry.versions(tenant: tenantName, agent: name) }
            if options.output == .json {
                try printJSON(versions)
                return
            }
            var table = TextTable("VERSION", "FRAMEWORK", "RUNS", "DEFAULT RESOURCES", "CHECKPOINTS", "DEPRECATED", "CREATED")
            for version in versions {
                let defaults = version.defaultResources
                let resources = [
                    defaults.flavor, defaults.gpus.map { "\($0) GPU" }, defaults.cpu.map { "\($0) cores" }, defaults.memoryGiB.map { "\($0) GiB" },
                ].compactMap { $0 }.joined(separator: ", ")
                table.add(
                    version.version, version.framework.rawValue, version.image ?? version.command ?? "-", resources.isEmpty ? "-" : resources,
                    version.checkpoints ? "yes" : "no", version.deprecated ? "yes" : "no",
                    "\(ISO8601.string(from: version.createdAt)) by \(version.createdBy)")
            }
            print(table.render())
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an agent and its versions.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "Agent name.") var name: String

        func run() throws {
            try Versions.parse(["--tenant", try tenant.resolved(), name] + (options.config.map { ["--config", $0] } ?? []) + ["--output", options.output.rawValue]).run()
        }
    }

    struct Deprecate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deprecate a version: new jobs may no longer use it.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "NAME@VERSION.") var agent: AgentReference

        func run() throws {
            let tenantName = try tenant.resolved()
            try options.withRegistry { registry in try registry.deprecate(tenant: tenantName, agent: agent.name, version: agent.version) }
            print("deprecated \(agent.name)@\(agent.version)")
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an earlier version the agent's default: what jobs naming the agent without a version run from now on.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: "The agent's name.") var agent: String
        @Option(help: "The version to run by default (registered, not deprecated).") var to: String

        func run() throws {
            let tenantName = try tenant.resolved()
            let previous = try options.withRegistry { registry in try registry.setDefaultVersion(tenant: tenantName, agent: agent, version: to) }
            print("\(agent): jobs without a version now run \(agent)@\(to) (was \(previous.map { "\(agent)@\($0)" } ?? "none"))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's agents.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var tenant: TenantOption

        func run() throws {
            let tenantName = try tenant.resolved()
            let agents = try options.withRegistry { registry in try registry.agents(tenant: tenantName) }
            var table = TextTable("AGENT", "VERSIONS", "LATEST CURRENT", "DESCRIPTION")
            for agent in agents { table.add(agent.name, String(agent.versions), agent.latest ?? "-", agent.description) }
            print(agents.isEmpty ? "tenant \(tenantName) has no agents" : table.render())
        }
    }
}
