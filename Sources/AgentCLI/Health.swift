import AgentCore
import ArgumentParser
import Foundation
import HealthChecker
import Postgres

/// `agentctl health`: nodes, worker replicas, last heartbeats and open alerts.
struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Nodes and worker replicas with their last heartbeats, and the alerts still open (docs/health.md).")
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let (nodes, workers, alerts) = try options.withDatabase { db in
            (try HealthQueries.nodes(in: db), try HealthQueries.workers(in: db), try HealthQueries.openAlerts(in: db))
        }
        if options.output == .json {
            for node in nodes { try printJSON(node) }
            for worker in workers { try printJSON(worker) }
            for alert in alerts { try printJSON(alert) }
            return
        }
        var nodeTable = TextTable("NODE", "NODE STATE", "HEALTH", "LAST HEARTBEAT", "RUNNING", "WHY")
        for node in nodes {
            nodeTable.add(
                node.node, node.nodeState ?? "-", node.health, String(format: "%.1fs ago", node.secondsSinceHeartbeat), String(node.runningRuns),
                node.reason ?? "")
        }
        print(nodes.isEmpty ? "no node agents have started" : nodeTable.render())
        print()
        var workerTable = TextTable("WORKER", "INSTANCE", "HOST", "PID", "STATE", "LAST HEARTBEAT")
        for worker in workers {
            workerTable.add(
                worker.worker, String(worker.instance.prefix(8)), worker.host, String(worker.pid), worker.state,
                String(format: "%.1fs ago", worker.secondsSinceHeartbeat))
        }
        print(workers.isEmpty ? "no worker replicas have beaten" : workerTable.render())
        print()
        if alerts.isEmpty {
            print("no open alerts")
        } else {
            var alertTable = TextTable("RAISED", "KIND", "SUBJECT", "MESSAGE")
            for alert in alerts { alertTable.add(ISO8601.string(from: alert.raisedAt), alert.kind, alert.subject, alert.message) }
            print(alertTable.render())
        }
    }
}
