import AgentCore
import AgentRuntime
import Foundation
import HealthChecker

// health-checker: turns missed heartbeats and missing progress into node.lost, job.stalled and
// alerts (see docs/health.md). Any number of replicas may run.
let config = try AgentConfig.load()
let settings = try HealthSettings.fromEnvironment()
let topology = Topology(prefix: config.topologyPrefix)
try await WorkerApp.run(
    name: HealthMonitor.workerName, queue: HealthEventsHandler.inputQueue(topology), handler: HealthEventsHandler(), config: config,
    background: { pool, logger in [HealthMonitor(settings: settings, pool: pool, topology: topology, logger: logger).task] })
