import AMQP
@testable import Admission
import AgentCore
import AgentTestSupport
import Foundation
import Testing

/// Several job requests in one message (docs/amqp-contract.md, "Batch submission").
@Suite("Batch submission")
struct BatchSubmissionTests {
    static func request(_ key: String, tenant: String = "acme", priority: PriorityClass = .normal, extra: [String: Any] = [:]) -> SubmissionClient.Request {
        var fields: [String: Any] = [
            "tenant": tenant, "agent": "resnet-trainer@1.2.0", "max_runtime": "2h", "idempotency_key": key, "priority_class": priority.rawValue,
        ]
        fields.merge(extra) { $1 }
        return SubmissionClient.Request(json: AdmissionWorld.body(fields))
    }

    @Test("Requests are grouped per priority class, up to the size, in order; one that cannot travel in a batch goes alone")
    func grouping() {
        var unbatchable = Self.request("raw")
        unbatchable.isBatchable = false
        let requests = [
            Self.request("n1"), Self.request("h1", priority: .high), Self.request("n2"), unbatchable, Self.request("n3"),
            Self.request("h2", priority: .high), Self.request("n4"),
        ]
        let groups = SubmissionClient.batches(requests, size: 3)
        #expect(groups == [[0, 2, 4], [1, 5], [3], [6]])
        #expect(SubmissionClient.batches(requests, size: 1) == requests.indices.map { [$0] })
    }

    @Test("A JSON spec without a key gets one written into its body, so it can travel in a batch")
    func keyWrittenIntoBody() throws {
        let request = SubmissionClient.Request(json: AdmissionWorld.body(["tenant": "acme", "agent": "resnet-trainer@1.2.0"]))
        let body = try JSONCoding.decoder.decode(JSONValue.self, from: request.body)
        #expect(body["idempotency_key"] == .string(request.idempotencyKey))
        #expect(request.isBatchable)
        let notJSON = SubmissionClient.Request(json: Data("tenant: [".utf8))
        #expect(!notJSON.isBatchable)
        #expect(notJSON.body == Data("tenant: [".utf8), "sent as written, for admission to explain")
    }

    @Test("Requests sent in one message are each decided, recorded and answered on their own")
    func decidedEachOnItsOwn() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()
        let earlier = Self.request("batch-earlier")
        let earlierCorrelation = try client.publish([earlier])[0]
        #expect(try client.awaitDecisions(for: [earlierCorrelation], timeout: .seconds(30))[earlierCorrelation]?.decision == .admitted)

        let requests = [
            Self.request("batch-a"), Self.request("batch-b", tenant: "globex", extra: ["agent": "gridworld-agent@0.3.0"]),
            Self.request("batch-bad", extra: ["replicas": 0]), Self.request("batch-earlier"), Self.request("batch-c"),
        ]
        let correlations = try client.publish(requests, batch: 10)
        let batchCorrelation = try #require(correlations.first?.split(separator: "#").first)
        #expect(correlations == (0..<5).map { "\(batchCorrelation)#\($0)" }, "one message: the decisions are told apart by position")
        let replies = try client.awaitDecisions(for: Set(correlations), timeout: .seconds(30))
        #expect(replies.count == 5)
        #expect(correlations.map { replies[$0]?.idempotencyKey } == requests.map(\.idempotencyKey))
        #expect(replies[correlations[0]]?.decision == .admitted)
        #expect(replies[correlations[1]]?.tenant == "globex")
        #expect(replies[correlations[2]]?.decision == .rejected)
        #expect(replies[correlations[2]]?.reasons.contains { $0.field == "replicas" } == true)
        #expect(replies[correlations[3]]?.duplicate == true, "a key decided earlier gets that decision again")
        #expect(try world.env.count("SELECT count(*) FROM jobs WHERE idempotency_key LIKE 'batch-%'") == 4)
        #expect(try world.env.count("SELECT count(*) FROM events WHERE type = 'job.admitted'") == 4)
        // The events of one batch's decisions share its correlation id: agentctl events --correlation follows them all.
        #expect(
            try world.env.count("SELECT count(*) FROM events WHERE correlation_id = $1::uuid", [String(batchCorrelation)]) == 4,
            "three admitted, one rejected; the repeated key decided nothing new")
    }

    @Test("A batch delivered twice makes each job once; a request without its own key or not JSON is dead-lettered alone")
    func redeliveryAndBrokenRequests() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()
        let publisher = try world.confirmedPublisher()
        defer { publisher.close() }
        let body = """
            [{"tenant": "acme", "agent": "resnet-trainer@1.2.0", "idempotency_key": "twice-a"},
             {"tenant": "acme", "agent": "resnet-trainer@1.2.0"},
             {"tenant": 7, "idempotency_key": "twice-c"},
             {"tenant": "acme", "agent": "resnet-trainer@1.2.0", "idempotency_key": "twice-d"}]
            """
        let message = AMQPOutgoingMessage(
            exchange: world.env.topology.requestsExchange, routingKey: AdmissionRequest.routingKey(for: .normal),
            properties: AMQPProperties(
                messageID: "batch-1", correlationID: "b1", replyTo: client.replyQueue, headers: [EventBatch.header: .string("4")]),
            body: Data(body.utf8))
        try publisher.publish(message)
        try publisher.publish(message)  // as a publisher retrying after a lost confirm would

        let replies = try client.awaitDecisions(for: ["b1#0", "b1#1", "b1#2", "b1#3"], timeout: .seconds(30))
        #expect(replies["b1#0"]?.decision == .admitted)
        #expect(replies["b1#3"]?.decision == .admitted)
        #expect(replies["b1#1"]?.reasons.first?.code == .malformedRequest)
        #expect(replies["b1#1"]?.reasons.first?.message.contains("idempotency_key is required in each request of a batch") == true)
        #expect(replies["b1#2"]?.reasons.first?.code == .malformedRequest)
        #expect(replies["b1#2"]?.idempotencyKey == "twice-c", "known by its own key")
        #expect(try eventually { try world.env.count("SELECT count(*) FROM admission_requests WHERE idempotency_key LIKE 'twice-%'") == 2 })

        let deadLetters = world.env.topology.deadLetterQueueName(AdmissionHandler.inputQueue(world.env.topology).name)
        let reader = try AMQPConnection(url: world.env.amqpURL)
        defer { reader.close() }
        #expect(try eventually { try reader.messageCount(queue: deadLetters) >= 2 })
        _ = try reader.consume(queue: deadLetters)
        var positions: Set<Int64> = []
        while let letter = try reader.nextDelivery(timeout: .seconds(2)) {
            if case .long(let index)? = letter.properties.headers[EventBatch.indexHeader] { positions.insert(index) }
            #expect(letter.properties.headers[EventBatch.header] == nil, "each dead letter is one request, not the batch")
        }
        #expect(positions == [1, 2])
        #expect(try world.env.count("SELECT count(*) FROM jobs WHERE idempotency_key LIKE 'twice-%'") == 2)
        #expect(try world.env.count("SELECT count(*) FROM events WHERE type = 'job.admitted'") == 2)
    }
}
