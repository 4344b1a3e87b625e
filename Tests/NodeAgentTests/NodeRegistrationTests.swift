import Admission
import AgentCore
import AgentTestSupport
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

/// Node agents that register their node's capacity: the scheduler learns the node from them and
/// places work on it; heartbeats show the agent is alive; a registration it cannot accept is
/// rejected with the reason.
@Suite("Node agent: registration and heartbeats")
struct NodeRegistrationTests {
    @Test("A node agent registers its node, heartbeats, gets work placed on it; a bad flavor is rejected with the reason")
    func registersAndHeartbeats() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        try world.registry.registerVersion(
            tenant: "acme", agent: "sleeper", version: "1.0", image: nil, command: "sleep 1", framework: .custom,
            defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: 6, memoryGiB: 8), checkpoints: false)
        let capacity = [
            "AGENTMGR_NODE_FLAVOR": "cpu", "AGENTMGR_NODE_POOL": "edge", "AGENTMGR_NODE_CPU": "8", "AGENTMGR_NODE_MEMORY_GIB": "32",
            "AGENTMGR_NODE_ZONE": "zone-b", "AGENTMGR_HEARTBEAT_SECONDS": "0.5",
        ]
        var unknownFlavor = capacity
        unknownFlavor["AGENTMGR_NODE_FLAVOR"] = "tpu-v9"
        unknownFlavor["AGENTMGR_NODE_POOL"] = "tpus"
        let pipeline = try RunLifecycleTests.Pipeline(
            world: world, nodes: ["edge-1", "tpu-1"], agentEnvironment: ["edge-1": capacity, "tpu-1": unknownFlavor])
        defer { pipeline.stop() }

        // The scheduler now has the node, with what its agent registered.
        #expect(try eventually(timeout: .seconds(30)) { try env.count("SELECT count(*) FROM nodes WHERE id = 'edge-1'") == 1 })
        let node = try #require(
            try env.pool.withConnection { try $0.query("SELECT pool, flavor, gpus, cpu, memory_gib, zone, state FROM nodes WHERE id = 'edge-1'").first })
        #expect(try node.decode(0, as: String.self) == "edge")
        #expect(try node.decode(1, as: String.self) == "cpu")
        #expect(try node.decode(2, as: Int.self) == 0)
        #expect(try node.decode(3, as: Int.self) == 8)
        #expect(try node.decode(4, as: Int.self) == 32)
        #expect(try node.decode(5, as: String.self) == "zone-b")
        #expect(try node.decode(6, as: String.self) == "ready")

        // An unknown flavor: not a node, and an event that says why.
        #expect(try eventually(timeout: .seconds(30)) { try env.count("SELECT count(*) FROM events WHERE type = 'node.rejected'") == 1 })
        let rejection = try #require(
            try env.pool.withConnection { try $0.query("SELECT payload->>'node', payload->>'reason' FROM events WHERE type = 'node.rejected'").first })
        #expect(try rejection.decode(0, as: String.self) == "tpu-1")
        #expect(try rejection.decode(1, as: String.self).contains("flavor tpu-v9 does not exist"))
        #expect(try env.count("SELECT count(*) FROM nodes WHERE id = 'tpu-1'") == 0)

        // Heartbeats move on while the agent runs.
        let first = try heartbeat(env, "edge-1")
        #expect(try eventually(timeout: .seconds(10)) { try heartbeat(env, "edge-1") > first })
        let agents = try env.pool.withConnection { try NodeAgentQueries.agents(in: $0) }
        #expect(agents.map(\.node) == ["edge-1", "tpu-1"])
        #expect(agents.first?.nodeState == "ready")
        #expect(agents.last?.nodeState == nil)
        #expect(agents.allSatisfy { $0.secondsSinceHeartbeat < 5 && $0.stoppedAt == nil && $0.backend == "local" })

        // Work lands on the registered node (6 of its 8 cores).
        let body = AdmissionWorld.body(["tenant": "acme", "agent": "sleeper@1.0", "max_runtime": "10m", "idempotency_key": "s-1"])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: "s-1", priority: .normal)], withReplies: false)
        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM runs WHERE node_id = 'edge-1' AND state = 'succeeded'") == 1
        })

        // A clean stop is recorded.
        pipeline.stop()
        #expect(try env.count("SELECT count(*) FROM node_agents WHERE stopped_at IS NOT NULL") == 2)
    }

    @Test("Capacity settings: registration is off without a flavor; a bad value names its variable")
    func capacitySettings() throws {
        #expect(try NodeCapacity.fromEnvironment([:]) == nil)
        let capacity = try NodeCapacity.fromEnvironment([
            "AGENTMGR_NODE_FLAVOR": "gpu-t4", "AGENTMGR_NODE_GPUS": "2", "AGENTMGR_NODE_CPU": "16", "AGENTMGR_NODE_MEMORY_GIB": "64",
        ])
        #expect(capacity == NodeCapacity(pool: "gpu-t4", flavor: "gpu-t4", gpus: 2, cpu: 16, memoryGiB: 64))
        #expect(throws: NodeAgentError.self) { try NodeCapacity.fromEnvironment(["AGENTMGR_NODE_FLAVOR": "cpu", "AGENTMGR_NODE_CPU": "8"]) }
        do {
            _ = try NodeCapacity.fromEnvironment(["AGENTMGR_NODE_FLAVOR": "cpu", "AGENTMGR_NODE_CPU": "-3", "AGENTMGR_NODE_MEMORY_GIB": "8"])
            Issue.record("a negative core count was accepted")
        } catch {
            #expect("\(error)".contains("AGENTMGR_NODE_CPU must be a whole number"))
        }
        #expect(throws: NodeAgentError.self) {
            try NodeAgentSettings.fromEnvironment(["AGENTMGR_NODE_ID": "n1", "AGENTMGR_HEARTBEAT_SECONDS": "soon"])
        }
    }

    private func heartbeat(_ env: RuntimeTestEnvironment, _ node: String) throws -> Date {
        try env.pool.withConnection { try $0.query("SELECT heartbeat_at FROM node_agents WHERE node_id = $1", [node])[0].decode(0, as: Date.self) }
    }
}
