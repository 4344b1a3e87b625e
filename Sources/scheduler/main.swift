import AgentCore
import AgentRuntime
import Foundation
import SchedulerWorker

// scheduler: turns admitted jobs into placements (see docs/architecture.md). Run as many replicas
// as you like: one leads and decides, the others take over within seconds if it dies.
let config = try AgentConfig.load()
let topology = Topology(prefix: config.topologyPrefix)
let metrics = ConsumerMetrics()
let schedulerMetrics = SchedulerMetrics()
metrics.addExposition { schedulerMetrics.prometheusText(worker: SchedulerHandler.workerName) }
try await WorkerApp.run(
    name: SchedulerHandler.workerName, queues: SchedulerHandler.inputQueues(topology), handler: SchedulerHandler(), config: config,
    metrics: metrics,
    background: { pool, logger in
        [
            SchedulingLoop(
                settings: .init(), databaseURL: config.databaseURL, pool: pool, topology: topology, logger: logger,
                metrics: schedulerMetrics
            ).task
        ]
    })
