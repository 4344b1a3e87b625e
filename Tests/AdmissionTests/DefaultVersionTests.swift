import Admission
import AgentCore
import AgentTestSupport
import Foundation
import Testing

@Suite("An agent's default version and agents rollback")
struct DefaultVersionTests {
    @Test("A job naming only the agent runs its default: the newest current version, or the one a rollback chose")
    func defaultAndRollback() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()
        let registry = world.registry
        try registry.registerVersion(
            tenant: "acme", agent: "resnet-trainer", version: "1.3.0", image: "resnet:1.3.0", command: nil, framework: .pytorch,
            defaults: ResourceOverrides(flavor: "gpu-v100", gpus: 1, cpu: 8, memoryGiB: 64), checkpoints: true)

        func submitBare(_ key: String) throws -> String? {
            let request = SubmissionClient.Request(
                body: AdmissionWorld.body(["tenant": "acme", "agent": "resnet-trainer", "max_runtime": "1h"]), idempotencyKey: key,
                priority: .normal)
            try client.publish([request])
            let reply = try #require(try client.awaitDecisions(for: [request.correlationID], timeout: .seconds(30))[request.correlationID])
            #expect(reply.decision == .admitted, "\(reply.reasons)")
            return try world.env.pool.withConnection {
                try $0.query("SELECT agent_version FROM jobs WHERE idempotency_key = $1", [key]).first?.decode(0, as: String.self)
            }
        }

        #expect(try submitBare("bare-1") == "1.3.0", "newest version that is not deprecated")
        #expect(try registry.setDefaultVersion(tenant: "acme", agent: "resnet-trainer", version: "1.2.0") == "1.3.0")
        #expect(try registry.defaultVersion(tenant: "acme", agent: "resnet-trainer") == "1.2.0")
        #expect(try submitBare("bare-2") == "1.2.0", "rolled back")
        #expect(try world.env.count("SELECT count(*) FROM events WHERE type = 'agent.default_set'") == 1)

        // Refused, and nothing changes.
        let deprecated = #expect(throws: RegistryError.self) {
            try registry.setDefaultVersion(tenant: "acme", agent: "resnet-trainer", version: "1.0.0")
        }
        #expect(deprecated?.field == "to")
        #expect("\(deprecated.map { "\($0)" } ?? "")".contains("deprecated"))
        let unknown = #expect(throws: RegistryError.self) {
            try registry.setDefaultVersion(tenant: "acme", agent: "resnet-trainer", version: "9.9")
        }
        #expect("\(unknown.map { "\($0)" } ?? "")".contains("versions: 1.0.0, 1.2.0, 1.3.0"))
        #expect(throws: RegistryError.self) { try registry.setDefaultVersion(tenant: "acme", agent: "no-such-agent", version: "1") }
        #expect(try registry.defaultVersion(tenant: "acme", agent: "resnet-trainer") == "1.2.0")

        // Deprecating the default falls back to the newest current version.
        try registry.deprecate(tenant: "acme", agent: "resnet-trainer", version: "1.2.0")
        #expect(try submitBare("bare-3") == "1.3.0")
    }
}
