import AMQP
import Admission
import AgentCore
import AgentTestSupport
import Foundation
import Testing

@Suite("Every rejection reason, through the requests queue, as the submitter sees it")
struct RejectionReasonTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let spec: JSONValue
        let code: RejectionCode
        let field: String?
        /// The whole message, or a distinctive part of it.
        let message: String
        var description: String { name }
    }

    static let resnet: JSONValue = ["tenant": "acme", "agent": "resnet-trainer@1.2.0"]
    static func acme(_ extra: JSONValue) -> JSONValue {
        guard case .object(let base) = resnet, case .object(let more) = extra else { return resnet }
        return .object(base.merging(more) { $1 })
    }

    static let cases: [Case] = [
        Case(name: "invalid spec", spec: acme(["replicas": 0]), code: .invalidSpec, field: "replicas",
             message: "replicas must be an integer between 1 and 1024, got 0"),
        Case(name: "unknown tenant", spec: ["tenant": "nobody", "agent": "x@1"], code: .unknownTenant, field: "tenant",
             message: "tenant \"nobody\" does not exist"),
        Case(name: "inactive tenant", spec: ["tenant": "initech", "agent": "x@1", "resources": ["flavor": "gpu-v100", "cpu": 1, "memory_gib": 1]],
             code: .tenantInactive, field: "tenant", message: "tenant initech is not active; it cannot submit jobs"),
        Case(name: "unknown agent", spec: ["tenant": "acme", "agent": "ghost@1.0"], code: .unknownAgent, field: "agent",
             message: "tenant acme has no agent named \"ghost\" (register it with agentctl agents register)"),
        Case(name: "unknown version", spec: ["tenant": "acme", "agent": "resnet-trainer@9.9"], code: .unknownAgentVersion, field: "agent",
             message: "agent resnet-trainer has no version 9.9 (versions: 1.0.0, 1.2.0)"),
        Case(name: "deprecated version", spec: ["tenant": "acme", "agent": "resnet-trainer@1.0.0"], code: .agentVersionDeprecated,
             field: "agent", message: "resnet-trainer@1.0.0 is deprecated (current: 1.2.0)"),
        Case(name: "unknown flavor", spec: acme(["resources": ["flavor": "gpu-a100"]]), code: .unknownFlavor, field: "resources.flavor",
             message: "flavor gpu-a100 does not exist (flavors: cpu, cpu-local, gpu-misc, gpu-p100, gpu-t4, gpu-v100, gpu-v100m32)"),
        Case(name: "bigger than any node", spec: acme(["resources": ["gpus": 16]]), code: .exceedsLargestNode, field: "resources",
             message: "one replica needs 16 GPU(s), 8 cores, 64 GiB; the largest gpu-v100 node has 8 GPU(s), 96 cores, 512 GiB"),
        Case(name: "gang bigger than the pool", spec: ["tenant": "acme", "agent": "llm-pretrainer@0.9.1", "replicas": 200],
             code: .gangExceedsPool, field: "replicas",
             message: "the gang of 200 replicas (8 GPU(s), 64 cores, 320 GiB each) cannot fit: the whole gpu-v100m32 pool holds at most 135 such replicas"),
        Case(name: "no quota for the flavor", spec: acme(["resources": ["flavor": "gpu-p100"]]), code: .noQuota, field: "resources.flavor",
             message: "tenant acme has no quota for gpu-p100 (agentctl tenants set-quota)"),
        Case(name: "over nominal plus borrowable", spec: acme(["replicas": 7, "resources": ["gpus": 8]]), code: .exceedsQuota,
             field: "replicas",
             message: "the job needs 56 GPUs of gpu-v100; tenant acme can hold at most 48 (nominal 32 + borrowable 16)"),
        Case(name: "budget", spec: ["tenant": "globex", "agent": "vision@1.0", "resources": ["gpus": 8], "max_runtime": "30d"],
             code: .budgetExhausted, field: "max_runtime",
             message: "projected cost $14284.80 (1 × 8 GPU(s) × 720 h max runtime at $2.48/GPU-hour) would bring tenant globex to $14284.80 this month, over its monthly budget of $500.00"),
        Case(name: "unknown dependency", spec: acme(["depends_on": ["3b9e6a7c-52d4-4f0e-9c1a-7d2f8e4b6a15"]]), code: .unknownDependency,
             field: "depends_on[0]", message: "job 3b9e6a7c-52d4-4f0e-9c1a-7d2f8e4b6a15 does not exist"),
        Case(name: "malformed: wrong type", spec: acme(["replicas": "four"]), code: .malformedRequest, field: "replicas",
             message: "replicas"),
    ]

    @Test("Each reason: a request that triggers it gets a rejection naming the code, the field and the problem")
    func everyReason() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()

        var requests: [SubmissionClient.Request] = []
        for (index, testCase) in Self.cases.enumerated() {
            requests.append(
                SubmissionClient.Request(body: try JSONCoding.encoder.encode(testCase.spec), idempotencyKey: "reason-\(index)", priority: .normal))
        }
        try client.publish(requests)
        let replies = try client.awaitDecisions(for: Set(requests.map(\.correlationID)), timeout: .seconds(60))

        for (testCase, request) in zip(Self.cases, requests) {
            let reply = try #require(replies[request.correlationID], "no reply for \(testCase.name)")
            #expect(reply.decision == .rejected, "\(testCase.name)")
            let reason = reply.reasons.first { $0.code == testCase.code }
            #expect(reason != nil, "\(testCase.name): expected \(testCase.code), got \(reply.reasons)")
            #expect(reason?.field == testCase.field, "\(testCase.name)")
            #expect(reason?.message.contains(testCase.message) == true, "\(testCase.name): \(reason?.message ?? "-")")
        }
        // Nothing was admitted and nothing was reserved against a budget.
        #expect(try world.env.count("SELECT count(*) FROM jobs") == 0)
        #expect(try world.env.count("SELECT count(*) FROM tenant_spend WHERE reserved > 0") == 0)
        #expect(try world.env.count("SELECT count(*) FROM events WHERE type = 'job.rejected'") == Self.cases.count)
    }

    @Test("Not JSON, or no idempotency key: dead-lettered with the reason, and the sender is told why")
    func malformedBodies() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()
        let publisher = try world.confirmedPublisher()
        defer { publisher.close() }
        func send(_ body: String, messageID: String?, correlation: String) throws {
            try publisher.publish(
                AMQPOutgoingMessage(
                    exchange: world.env.topology.requestsExchange, routingKey: AdmissionRequest.routingKey,
                    properties: AMQPProperties(messageID: messageID, correlationID: correlation, replyTo: client.replyQueue),
                    body: Data(body.utf8)))
        }
        try send("{\"tenant\": \"acme\", ", messageID: "broken-json", correlation: "c1")
        try send(#"{"tenant": "acme", "agent": "resnet-trainer@1.2.0"}"#, messageID: nil, correlation: "c2")
        try send(#"{"tenant": "acme", "agent": "resnet-trainer@1.2.0", "idempotency_key": "in-body"}"#, messageID: nil, correlation: "c3")

        // A reply_to naming someone else's queue is refused: admission never writes there.
        let victim = "test.victim.\(UUID().uuidString.prefix(8).lowercased())"
        try publisher.declareQueue(AMQPQueueSpec(name: victim, autoDelete: false))
        defer { try? publisher.deleteQueue(victim) }
        try publisher.publish(
            AMQPOutgoingMessage(
                exchange: world.env.topology.requestsExchange, routingKey: AdmissionRequest.routingKey,
                properties: AMQPProperties(messageID: "aimed-elsewhere", correlationID: "c4", replyTo: victim),
                body: Data(#"{"tenant": "acme", "agent": "resnet-trainer@1.2.0"}"#.utf8)))

        let replies = try client.awaitDecisions(for: ["c1", "c2", "c3"], timeout: .seconds(30))
        #expect(replies["c1"]?.reasons.first?.code == .malformedRequest)
        #expect(replies["c1"]?.reasons.first?.message.contains("is not valid JSON") == true)
        #expect(replies["c2"]?.reasons.first?.code == .malformedRequest)
        #expect(replies["c2"]?.reasons.first?.message.contains("idempotency key") == true)
        #expect(replies["c3"]?.decision == .admitted, "idempotency_key in the body stands in for message_id")

        let deadLetters = world.env.topology.deadLetterQueueName(AdmissionHandler.inputQueue(world.env.topology).name)
        let reader = try AMQPConnection(url: world.env.amqpURL)
        defer { reader.close() }
        #expect(try eventually { try reader.messageCount(queue: deadLetters) == 3 })
        #expect(try reader.messageCount(queue: victim) == 0)
        #expect(try world.env.count("SELECT count(*) FROM jobs WHERE idempotency_key = 'aimed-elsewhere'") == 0)
    }
}
