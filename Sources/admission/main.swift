import Admission
import AgentCore
import AgentRuntime
import Foundation

// admission: decides job requests from the requests queue (see docs/amqp-contract.md).
let config = try AgentConfig.load()
let consumers = Int(ProcessInfo.processInfo.environment["AGENTMGR_CONSUMERS"] ?? "") ?? 1
try await WorkerApp.run(
    name: AdmissionHandler.workerName, queue: AdmissionHandler.inputQueue(Topology(prefix: config.topologyPrefix)),
    handler: AdmissionHandler(), consumers: consumers, config: config,
    prepare: { pool, logger in _ = try Catalog.sync(config: config, pool: pool, logger: logger) })
