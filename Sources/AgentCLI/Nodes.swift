import Admission
import AgentCore
import ArgumentParser
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker

struct Nodes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Nodes and node state: add simulated nodes, import the sample cluster, cordon, drain, list, node agents.",
        subcommands: [Add.self, ImportCluster.self, Cordon.self, Drain.self, Uncordon.self, List.self, Agents.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add simulated nodes of one shape to a pool.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Pool name; nodes are named <pool>-0001, ...") var pool: String
        @Option(help: "Flavor of the nodes (config/flavors.json).") var flavor: String
        @Option(help: "How many nodes.") var count: Int = 1
        @Option(help: "GPUs per node.") var gpus: Int
        @Option(help: "Cores per node.") var cpu: Int
        @Option(help: "Memory per node, GiB.") var memoryGib: Int
        @Option(help: "Spread the nodes over this many zones.") var zones: Int = 1

        func run() throws {
            let ids = try options.withNodeRegistry {
                try $0.add(pool: pool, flavor: flavor, count: count, shape: .init(gpus: gpus, cpu: cpu, memoryGiB: memoryGib), zones: zones)
            }
            print("added \(ids.count) node(s) to pool \(pool): \(ids.first ?? "")…\(ids.last ?? "")")
        }
    }

    struct ImportCluster: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-cluster",
            abstract: "Add every pool of config/cluster.json as simulated nodes (the 1,897-machine PAI inventory, and the two cpu-local nodes).")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Cluster file (default: the configured cluster_file).") var file: String?
        @Option(help: "Spread each pool over this many zones.") var zones: Int = 3
        @Option(help: "Scale each pool's node count by this factor (e.g. 0.1 for a small cluster).") var scale: Double = 1

        func run() throws {
            let config = try options.load()
            var settings = config
            if let file { settings.clusterFile = file }
            let catalog = try failing { try Catalog.load(flavorsFile: settings.flavorsFile, clusterFile: settings.clusterFile) }
            var total = 0
            for pool in catalog.pools {
                let count = max(1, Int((Double(pool.nodes) * scale).rounded()))
                try options.withNodeRegistry {
                    _ = try $0.add(
                        pool: pool.name, flavor: pool.flavor, count: count,
                        shape: .init(gpus: pool.gpus, cpu: pool.cpu, memoryGiB: pool.memoryGiB), zones: zones)
                }
                total += count
                print("pool \(pool.name): \(count) × \(pool.gpus) GPU, \(pool.cpu) cores, \(pool.memoryGiB) GiB (\(pool.flavor))")
            }
            print("added \(total) nodes")
        }
    }

    struct Cordon: NodeStateCommand {
        static let state = "cordoned"
        static let configuration = CommandConfiguration(abstract: "Stop placing new work on a node.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Node id.") var node: String
    }

    struct Drain: NodeStateCommand {
        static let state = "draining"
        static let configuration = CommandConfiguration(abstract: "Stop placing new work on a node and move its work off.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Node id.") var node: String
    }

    struct Uncordon: NodeStateCommand {
        static let state = "ready"
        static let configuration = CommandConfiguration(abstract: "Make a node ready for new work again.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Node id.") var node: String
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Node pools: nodes, ready nodes, GPUs and cores allocated.")
        @OptionGroup var options: GlobalOptions
        func run() throws {
            let pools = try options.withNodeRegistry { try $0.pools() }
            if options.output == .json {
                for pool in pools { try printJSON(pool) }
                return
            }
            var table = TextTable("POOL", "FLAVOR", "NODES", "READY", "GPUS ALLOCATED", "CORES ALLOCATED")
            for pool in pools {
                table.add(
                    pool.pool, pool.flavor, String(pool.nodes), String(pool.ready), "\(pool.gpusAllocated)/\(pool.gpus)",
                    "\(pool.cpuAllocated)/\(pool.cpu)")
            }
            print(pools.isEmpty ? "no nodes (agentctl nodes add, or nodes import-cluster)" : table.render())
        }
    }

    struct Agents: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Node agents: the node each runs, its state, host, running runs and last heartbeat.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            let agents = try options.withDatabase { try NodeAgentQueries.agents(in: $0) }
            if options.output == .json {
                for agent in agents { try printJSON(agent) }
                return
            }
            var table = TextTable("NODE", "NODE STATE", "AGENT", "HOST", "PID", "BACKEND", "RUNNING", "LAST HEARTBEAT")
            for agent in agents {
                table.add(
                    agent.node, agent.nodeState ?? "(not registered)", agent.stoppedAt == nil ? "up" : "stopped", agent.host, String(agent.pid),
                    agent.backend, String(agent.runningRuns), String(format: "%.1fs ago", agent.secondsSinceHeartbeat))
            }
            print(agents.isEmpty ? "no node agents have started" : table.render())
        }
    }
}

/// cordon, drain, uncordon: the same change with a different target state.
protocol NodeStateCommand: ParsableCommand {
    static var state: String { get }
    var options: GlobalOptions { get }
    var node: String { get }
}

extension NodeStateCommand {
    func run() throws {
        try options.withNodeRegistry { try $0.setState(node: node, Self.state) }
        print("node \(node) \(Self.state)")
    }
}
