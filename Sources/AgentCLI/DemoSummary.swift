import AMQP
import AgentCore
import Foundation
import Postgres

/// The readable end of `make run`: what was sent, what the worker applied, what the log holds.
struct DemoSummary {
    let pool: PostgresPool
    let topology: Topology
    let amqpURL: AMQPURL
    let run: UUID
    let expected: [String: Int]
    let count: Int
    let elapsed: Duration

    func print() throws {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        Swift.print("")
        Swift.print("== demo summary ==")
        Swift.print("\(count) tasks applied exactly once in \(String(format: "%.2f", seconds)) s (\(Int(Double(count) / max(seconds, 0.001))) tasks/s, end to end)")

        var balances = TextTable("ACCOUNT", "EXPECTED", "BALANCE", "TASKS", "OK")
        try pool.withConnection { db in
            for row in try db.query("SELECT account, balance, applied_tasks FROM demo_balances ORDER BY account") {
                let account = try row.decode(0, as: String.self)
                let balance = try row.decode(1, as: Int.self)
                let want = expected[account].map(String.init) ?? "-"
                balances.add(account, want, String(balance), String(try row.decode(2, as: Int.self)), want == String(balance) ? "yes" : "(earlier runs)")
            }
        }
        Swift.print("\nbalances (demo-worker's own table):")
        Swift.print(balances.render())

        var log = TextTable("EVENT TYPE", "COUNT")
        try pool.withConnection { db in
            let rows = try db.query(
                "SELECT type, count(*) FROM events WHERE correlation_id = $1 GROUP BY type ORDER BY type", [run])
            for row in rows { log.add(try row.decode(0, as: String.self), String(try row.decode(1, as: Int.self))) }
        }
        Swift.print("\nevent log for this run (correlation \(run.uuidString.lowercased())):")
        Swift.print(log.render())

        let letters = try DeadLetterReader(url: amqpURL).peek(
            queue: topology.deadLetterQueueName(topology.queueName("demo-worker")), limit: 10)
        Swift.print("\ndead letters of demo-worker (latest run and earlier):")
        if letters.isEmpty {
            Swift.print("none")
        } else {
            var table = TextTable("MESSAGE ID", "ATTEMPTS", "REASON")
            for letter in letters { table.add(letter.messageID, letter.attempts, letter.reason) }
            Swift.print(table.render())
        }
        Swift.print("\ninspect further: agentctl events --correlation \(run.uuidString.lowercased()); agentctl dead-letters demo-worker")
    }
}
