import Admission
import AgentCore
import AgentTestSupport
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

/// Real node-agent processes with the Kubernetes backend, against a simulated cluster
/// (fake_cluster.py: the API calls the backend makes, pods that run a scripted program).
@Suite("Node agent: the Kubernetes backend against a simulated cluster")
struct KubernetesBackendRunTests {
    /// The pod's program, for the simulated cluster: steps from the stage's parameters.
    static func script(_ steps: [[String: Any]]) -> [[String: Any]] {
        [["name": "only", "parameters": ["fake_script": steps]]]
    }

    static func progress(_ kind: String, _ fields: String) -> [String: Any] { ["print": #"@agentmgr {"kind":"\#(kind)",\#(fields)}"#] }

    func setUp(_ world: AdmissionWorld, nodes count: Int) throws -> [String] {
        try world.registry.setQuota(tenant: "acme", flavor: "gpu-t4", nominal: 16)
        try world.registry.registerVersion(
            tenant: "acme", agent: "trainer", version: "2.0", image: "registry.example/acme/trainer:2.0", command: nil, framework: .pytorch,
            defaults: ResourceOverrides(flavor: "gpu-t4", gpus: 2, cpu: 8, memoryGiB: 32), checkpoints: true)
        return try NodeRegistry(pool: world.env.pool, topology: world.env.topology, actor: "tests")
            .add(pool: "t4", flavor: "gpu-t4", count: count, shape: .init(gpus: 2, cpu: 16, memoryGiB: 64))
    }

    func submit(_ world: AdmissionWorld, key: String, replicas: Int, steps: [[String: Any]]) throws {
        let body = AdmissionWorld.body([
            "tenant": "acme", "agent": "trainer@2.0", "replicas": replicas, "max_runtime": "1h", "idempotency_key": key,
            "curriculum": Self.script(steps),
        ])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: key, priority: .normal)], withReplies: false)
    }

    @Test("A 2-replica gang becomes one Indexed Job; each rank's pod log is read for progress, checkpoints and the result")
    func gangRunsAsAnIndexedJob() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let cluster = try FakeCluster()
        let nodes = try setUp(world, nodes: 2)
        let kubeconfig = try cluster.kubeconfig(namespace: "training")
        let pipeline = try RunLifecycleTests.Pipeline(
            world: world, nodes: nodes, agentEnvironment: Dictionary(uniqueKeysWithValues: nodes.map { ($0, ["AGENTMGR_KUBECONFIG": kubeconfig]) }))
        defer { pipeline.stop() }
        try submit(world, key: "k8s-gang", replicas: 2, steps: [
            Self.progress("progress", #""step":100,"metrics":{"loss":0.5}"#),
            ["sleep": 0.3],
            Self.progress("checkpoint", #""step":200,"uri":"file:///checkpoints/ckpt-200-$(RANK)","metrics":{"loss":0.4}"#),
            ["print": "rank $(RANK) of $(WORLD_SIZE), master $(MASTER_ADDR):$(MASTER_PORT)"],
            Self.progress("result", #""metrics":{"rank":$(RANK),"loss":0.3}"#),
            ["exit": 0],
        ])

        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM runs WHERE state = 'succeeded'") == 2 })
        let runs = try env.pool.withConnection {
            try $0.query("SELECT rank, command, log_path, pid FROM runs ORDER BY rank").map {
                (try $0.decode(0, as: Int.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self),
                 try $0.decodeIfPresent(3, as: Int.self))
            }
        }
        #expect(runs.map(\.0) == [0, 1])
        #expect(runs.allSatisfy { $0.1.hasPrefix("kubernetes job training/am-") && $0.3 == nil })
        // Each rank's log is its own pod's output, with its own rank and the gang's rank-0 address.
        for (rank, _, logPath, _) in runs {
            let log = try String(contentsOfFile: logPath, encoding: .utf8)
            #expect(log.contains("rank \(rank) of 2, master am-"), "rank \(rank) logged: \(log)")
        }
        #expect(try env.count("SELECT count(*) FROM checkpoints WHERE step = 200") == 2)
        #expect(try env.count("SELECT count(*) FROM runs WHERE last_step = 100") == 2)
        #expect(try eventually { try env.count("SELECT count(*) FROM events WHERE type = 'job.finished'") == 1 })
        let finished = try env.pool.withConnection {
            try JSONValue.parse(Data(try $0.query("SELECT payload::text FROM events WHERE type = 'job.finished'")[0].decode(0, as: String.self).utf8))
        }
        #expect(finished["outcome"] == "succeeded")
        #expect(finished["metrics"]?["rank"] == .number(0))

        // One Indexed Job for the gang: both agents submitted it; the first created it.
        let posts = try cluster.requests().filter { $0["method"] == "POST" && $0["path"] == "/apis/batch/v1/namespaces/training/jobs" }
        #expect(posts.count == 2)
        let job = try #require(posts.first?["body"])
        #expect(job["spec"]?["completionMode"] == "Indexed")
        #expect(job["spec"]?["completions"] == .number(2))
        #expect(try env.count("SELECT count(*) FROM node_agents WHERE backend = 'kubernetes'") == 2)
    }

    @Test("A rollback on Kubernetes deletes the running Job and submits the next attempt's, resuming from the checkpoint")
    func rollbackReplacesTheJob() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        let cluster = try FakeCluster()
        let nodes = try setUp(world, nodes: 1)
        let pipeline = try RunLifecycleTests.Pipeline(
            world: world, nodes: nodes, agentEnvironment: [nodes[0]: ["AGENTMGR_KUBECONFIG": try cluster.kubeconfig(namespace: "training")]])
        defer { pipeline.stop() }
        try submit(world, key: "k8s-rollback", replicas: 1, steps: [
            Self.progress("checkpoint", #""step":100,"uri":"file:///checkpoints/ckpt-100","metrics":{}"#),
            Self.progress("checkpoint", #""step":200,"uri":"file:///checkpoints/ckpt-200","metrics":{}"#),
            ["print": "resuming from $(RESUME_FROM)"],
            ["sleep": 60],
        ])
        #expect(try eventually(timeout: .seconds(60)) { try env.count("SELECT count(*) FROM checkpoints WHERE step = 200") == 1 })
        let jobID = try env.pool.withConnection { try $0.query("SELECT job_id FROM runs")[0].decode(0, as: UUID.self) }
        _ = try env.pool.transaction {
            try JobRollback.request(jobID: jobID, to: "100", reason: nil, actor: "tests", topology: env.topology, in: $0)
        }

        #expect(try eventually(timeout: .seconds(60)) {
            try env.count("SELECT count(*) FROM runs WHERE attempt = 1 AND state = 'running'") == 1
        })
        #expect(try env.count("SELECT count(*) FROM runs WHERE attempt = 0 AND state = 'stopped'") == 1)
        let requests = try cluster.requests()
        let name = "am-" + jobID.uuidString.lowercased().replacingOccurrences(of: "-", with: "") + "-s0"
        #expect(requests.contains { $0["method"] == "DELETE" && $0["path"] == .string("/apis/batch/v1/namespaces/training/jobs/\(name)") })
        let second = try #require(requests.last { $0["method"] == "POST" && $0["path"] == "/apis/batch/v1/namespaces/training/jobs" })
        #expect(second["body"]?["metadata"]?["name"] == .string(name + "-a1"))
        // The new attempt's pod was told to resume from the checkpoint rolled back to.
        let log = try env.pool.withConnection {
            try $0.query("SELECT log_path FROM runs WHERE attempt = 1")[0].decode(0, as: String.self)
        }
        #expect(try eventually { (try? String(contentsOfFile: log, encoding: .utf8))?.contains("resuming from /checkpoints/ckpt-100") == true })
    }
}
