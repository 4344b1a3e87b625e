import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres

/// Checks every budgeted tenant now and then, besides the checks the consumer makes as spending
/// moves: a new month restores a tenant that spent last month's budget, and a budget removed
/// while spent is noticed without any new usage.
public struct BudgetLoop: Sendable {
    let pool: PostgresPool
    let topology: Topology
    let interval: Duration
    let logger: Logger

    public init(pool: PostgresPool, topology: Topology, interval: Duration = .seconds(30), logger: Logger) {
        self.pool = pool
        self.topology = topology
        self.interval = interval
        self.logger = logger
    }

    public var task: BackgroundTask {
        BackgroundTask(name: "budget-watch") { stop in
            while !stop.isRequested {
                do { try checkOnce() } catch { logger.warning("budget check failed; retrying", metadata: ["error": "\(error)"]) }
                stop.sleep(interval)
            }
        }
    }

    public func checkOnce(now: Date = Date()) throws {
        try pool.transaction { db in
            let events = try BudgetWatch.check(
                try BudgetWatch.watchedTenants(in: db), now: now, producer: CostHandler.workerName, in: db)
            try EventRecorder.append(events.map { ($0, nil) }, topology: topology, in: db)
        }
    }
}
