import Admission
import AgentCore
import AgentTestSupport
import Foundation
import NodeAgent
import Postgres
import SchedulerWorker
import Testing

/// `agentctl jobs manifest`: a placed job rendered as the Kubernetes backend would submit it.
@Suite("Node agent: a placed job's Kubernetes manifest (dry run)")
struct KubernetesManifestPreviewTests {
    @Test("A placed 2-replica GPU gang becomes an Indexed Job on its nodes and a headless Service; an unknown job is refused")
    func rendersAPlacedGang() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let env = world.env
        try world.registry.setQuota(tenant: "acme", flavor: "gpu-t4", nominal: 16)
        try world.registry.registerVersion(
            tenant: "acme", agent: "trainer", version: "2.0", image: "registry.example/acme/trainer:2.0", command: nil, framework: .pytorch,
            defaults: ResourceOverrides(flavor: "gpu-t4", gpus: 2, cpu: 8, memoryGiB: 32), checkpoints: true)
        let nodes = try NodeRegistry(pool: env.pool, topology: env.topology, actor: "tests")
            .add(pool: "t4", flavor: "gpu-t4", count: 2, shape: .init(gpus: 2, cpu: 16, memoryGiB: 64))
        // No node agents: the scheduler places the gang, nothing runs it.
        let pipeline = try RunLifecycleTests.Pipeline(world: world, nodes: [])
        defer { pipeline.stop() }
        let body = AdmissionWorld.body(["tenant": "acme", "agent": "trainer@2.0", "replicas": 2, "max_runtime": "2h", "idempotency_key": "k-1"])
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: "k-1", priority: .normal)], withReplies: false)
        #expect(try eventually(timeout: .seconds(30)) { try env.count("SELECT count(*) FROM allocations WHERE released_at IS NULL") == 2 })
        let jobID = try env.pool.withConnection { try $0.query("SELECT job_id FROM allocations LIMIT 1")[0].decode(0, as: UUID.self) }

        let objects = try env.pool.withConnection { try KubernetesManifestPreview.render(jobID: jobID, namespace: "training", in: $0) }
        #expect(objects.map { $0["kind"] } == [.string("Job"), .string("Service")])
        let job = objects[0]
        #expect(job["metadata"]?["namespace"] == "training")
        #expect(job["spec"]?["completionMode"] == "Indexed")
        #expect(job["spec"]?["completions"] == .number(2))
        #expect(job["spec"]?["activeDeadlineSeconds"] == .number(7200))
        let pod = try #require(job["spec"]?["template"]?["spec"])
        let term = first(pod["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"])
        let hostnames = first(term?["matchExpressions"])?["values"]
        #expect(hostnames == .array(nodes.sorted().map(JSONValue.string)))
        let container = try #require(first(pod["containers"]))
        #expect(container["image"] == "registry.example/acme/trainer:2.0")
        #expect(container["resources"]?["limits"]?["nvidia.com/gpu"] == "2")
        guard case .array(let variables)? = container["env"] else { throw PreviewTestError("no env") }
        let names = variables.compactMap { $0["name"].flatMap { if case .string(let name) = $0 { name } else { nil } } }
        #expect(names.contains("MASTER_ADDR") && names.contains("CHECKPOINT_DIR") && names.contains("WORLD_SIZE"))

        // A job that does not exist: refused, saying so.
        do {
            _ = try env.pool.withConnection { try KubernetesManifestPreview.render(jobID: UUID(), in: $0) }
            Issue.record("a job that does not exist was rendered")
        } catch {
            #expect("\(error)".contains("does not exist"))
        }
    }

    private func first(_ value: JSONValue?) -> JSONValue? {
        if case .array(let items)? = value { return items.first }
        return nil
    }

    struct PreviewTestError: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }
}
