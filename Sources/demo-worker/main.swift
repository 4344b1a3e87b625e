import AgentCore
import AgentRuntime
import DemoLedger
import Foundation

// demo-worker: the consumer runtime's round trip, end to end (see docs/architecture.md).
let environment = ProcessInfo.processInfo.environment
let delay = Int(environment["AGENTMGR_DEMO_HANDLER_DELAY_MS"] ?? "") ?? 0
let consumers = Int(environment["AGENTMGR_CONSUMERS"] ?? "") ?? 1
let config = try AgentConfig.load()
var queue = DemoLedgerHandler.inputQueue
queue.name = Topology(prefix: config.topologyPrefix).queueName(DemoLedgerHandler.workerName)
try await WorkerApp.run(
    name: DemoLedgerHandler.workerName, queue: queue, handler: DemoLedgerHandler(delay: .milliseconds(delay)),
    consumers: consumers, config: config)
