import AgentCore
import AgentRuntime
import CostAccountant
import Foundation

// cost-accountant: meters runs in money into its ledger, releases admission's reservations as
// metered cost replaces them, and enforces budgets (see docs/cost.md). Any number of replicas may run.
let config = try AgentConfig.load()
let topology = Topology(prefix: config.topologyPrefix)
let environment = ProcessInfo.processInfo.environment
var checkSeconds = 30.0
if let raw = environment["AGENTMGR_BUDGET_CHECK_SECONDS"], !raw.isEmpty {
    guard let value = Double(raw), (0.1...3600).contains(value) else {
        FileHandle.standardError.write(Data("AGENTMGR_BUDGET_CHECK_SECONDS must be a number from 0.1 to 3600, got \(raw)\n".utf8))
        exit(2)
    }
    checkSeconds = value
}
let interval = Duration.milliseconds(Int(checkSeconds * 1000))
try await WorkerApp.run(
    name: CostHandler.workerName, queue: CostHandler.inputQueue(topology), handler: CostHandler(), config: config,
    background: { pool, logger in [BudgetLoop(pool: pool, topology: topology, interval: interval, logger: logger).task] })
