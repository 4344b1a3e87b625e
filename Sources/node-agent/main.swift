import AgentCore
import AgentRuntime
import Foundation
import Logging
import NodeAgent

// node-agent: runs the replicas the scheduler places on one node (see docs/architecture.md).
// AGENTMGR_NODE_ID names the node; one machine may run several agents, each simulating a node.
let config = try AgentConfig.load()
let settings = try NodeAgentSettings.fromEnvironment()
let topology = Topology(prefix: config.topologyPrefix)
let stopHint = StopRequestHint()
// Local processes, or Kubernetes Jobs when AGENTMGR_KUBECONFIG is set (docs/kubernetes-backend.md).
let backend = try NodeAgentBackend.fromEnvironment(gracePeriod: settings.gracePeriod, logger: Logger(label: "node-agent"))
// The name is also the inbox's consumer: each node's agent deduplicates its own copies.
try await WorkerApp.run(
    name: PlacementHandler.consumerName(nodeID: settings.nodeID), queue: PlacementHandler.inputQueue(topology, nodeID: settings.nodeID),
    handler: PlacementHandler(nodeID: settings.nodeID, stopHint: stopHint), config: config,
    background: { pool, logger in
        var logger = logger
        logger[metadataKey: "agentmgr.node"] = .string(settings.nodeID)
        return [
            NodeHeartbeat(settings: settings, pool: pool, topology: topology, backend: backend.name, logger: logger).task,
            Supervisor(settings: settings, pool: pool, topology: topology, stopHint: stopHint, backend: backend, logger: logger).task,
        ]
    })
