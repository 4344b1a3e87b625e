import AgentCore
import AgentRuntime
import Foundation
import Logging
import PreemptionWorker

// preemption: stops lower-priority (or borrowing) jobs so a waiting job fits (see docs/preemption.md).
let config = try AgentConfig.load()
let settings = try PreemptionSettings.fromEnvironment()
let topology = Topology(prefix: config.topologyPrefix)
let decider = PreemptionDecider(settings: settings, topology: topology, logger: Logger(label: PreemptionDecider.workerName))
try await WorkerApp.run(
    name: PreemptionDecider.workerName, queue: PreemptionHandler.inputQueue(topology), handler: PreemptionHandler(decider: decider),
    config: config, background: { pool, _ in [decider.task(pool: pool)] })
