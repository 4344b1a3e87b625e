import AMQP
import Admission
import AgentCore
import AgentTestSupport
import Foundation
import Testing

@Suite("Admission at scale: priority lanes, replicas, redeliveries")
struct AdmissionScaleTests {
    @Test("A critical request published behind 50,000 queued batch requests is decided before them")
    func criticalJumpsBatchBacklog() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let client = try world.client()
        let batch = AdmissionWorld.body(["tenant": "bigco", "agent": "sweeper@1", "priority_class": "batch", "max_runtime": "1h"])
        let backlog = (0..<50_000).map { SubmissionClient.Request(body: batch, idempotencyKey: "batch-\($0)", priority: .batch) }
        try client.publish(backlog, withReplies: false)
        let critical = AdmissionWorld.body(["tenant": "bigco", "agent": "sweeper@1", "priority_class": "critical", "max_runtime": "1h"])
        try client.publish([SubmissionClient.Request(body: critical, idempotencyKey: "the-critical-one", priority: .critical)], withReplies: false)

        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        #expect(try eventually(timeout: .seconds(120)) { try world.env.count("SELECT count(*) FROM admission_requests") >= 2_000 })
        // Decisions commit a batch at a time; "before" means in an earlier transaction. The one
        // consumer's transactions run one after another, so their ids increase.
        let decidedBefore = try world.env.count(
            """
            SELECT count(*) FROM admission_requests r, admission_requests c
            WHERE c.idempotency_key = 'the-critical-one' AND r.idempotency_key <> c.idempotency_key
              AND r.xmin::text::bigint < c.xmin::text::bigint
            """)
        #expect(try world.env.count("SELECT count(*) FROM jobs WHERE idempotency_key = 'the-critical-one'") == 1)
        #expect(decidedBefore == 0, "\(decidedBefore) batch requests were decided before the critical one")
    }

    @Test("Three replicas, 10,000 mixed requests, duplicates and a SIGKILL: no duplicate job, every request answered once")
    func threeReplicas() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let client = try world.client()

        var requests: [SubmissionClient.Request] = []
        for index in 0..<10_000 {
            let body: Data
            switch index % 20 {
            case 0: body = Data("{\"tenant\": \"acme\", \"agent\": ".utf8)  // malformed
            case 1, 2: body = AdmissionWorld.body(["tenant": "acme", "agent": "resnet-trainer@1.2.0", "replicas": 0])  // invalid
            case 3: body = AdmissionWorld.body(["tenant": "nobody", "agent": "x@1"])
            case 4...9: body = AdmissionWorld.body(["tenant": "bigco", "agent": "sweeper@1", "max_runtime": "2h"])
            default: body = AdmissionWorld.body(["tenant": "acme", "agent": "resnet-trainer@1.2.0", "max_runtime": "1h"])
            }
            let priority = PriorityClass.allCases[index % PriorityClass.allCases.count]
            requests.append(SubmissionClient.Request(body: body, idempotencyKey: "mixed-\(index)", priority: priority))
        }
        // Resubmissions: the same key with a new correlation id must get the first decision again.
        let resubmitted = stride(from: 7, to: 10_000, by: 33).map { requests[$0] }
        let resubmissions = resubmitted.map { SubmissionClient.Request(body: $0.body, idempotencyKey: $0.idempotencyKey, priority: $0.priority) }
        // Forced redeliveries: the very same message twice, as the broker does after a lost ack.
        let redelivered = stride(from: 3, to: 10_000, by: 20).map { requests[$0] }

        let environment = world.env.processEnvironment(["AGENTMGR_BATCH_SIZE": "100"])
        var replicas = try (0..<3).map { _ in try WorkerProcess(executable: "admission", environment: environment) }
        try client.publish(requests + redelivered)

        #expect(try eventually(timeout: .seconds(60)) { try world.env.count("SELECT count(*) FROM admission_requests") >= 3_000 })
        replicas[1].kill()
        replicas[1] = try WorkerProcess(executable: "admission", environment: environment)
        try client.publish(resubmissions)

        // Every reply delivery, by correlation id: the set of distinct reply ids and the answers.
        var replyIDs: [String: Set<String>] = [:]
        var answers: [String: AdmissionReply] = [:]
        let expected = Set((requests + resubmissions).map(\.correlationID))
        var quietSince = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(180)
        while ContinuousClock.now < deadline {
            if let delivery = try client.nextReply(timeout: .milliseconds(200)), let correlation = delivery.properties.correlationID {
                replyIDs[correlation, default: []].insert(delivery.properties.messageID ?? "")
                answers[correlation] = try JSONCoding.decoder.decode(AdmissionReply.self, from: delivery.body)
                quietSince = ContinuousClock.now
            } else if Set(replyIDs.keys).isSuperset(of: expected) && ContinuousClock.now - quietSince > .seconds(2) {
                break
            }
        }
        for replica in replicas { #expect(replica.terminate() == 0) }

        let unanswered = expected.subtracting(replyIDs.keys)
        #expect(unanswered.isEmpty, "\(unanswered.count) requests got no answer")
        let answeredTwice = replyIDs.filter { $0.value.count > 1 }
        #expect(answeredTwice.isEmpty, "\(answeredTwice.count) requests got two different answers")

        let admitted = try world.env.count("SELECT count(*) FROM admission_requests WHERE decision = 'admitted'")
        #expect(admitted > 0)
        #expect(try world.env.count("SELECT count(*) FROM jobs") == admitted, "one job per admitted key, no more")
        #expect(try world.env.count("SELECT count(*) FROM admission_requests") == 10_000 - 500, "one decision per well-formed key")
        for (original, again) in zip(resubmitted, resubmissions) {
            guard let first = answers[original.correlationID], let second = answers[again.correlationID] else { continue }
            #expect(second.decision == first.decision)
            #expect(second.jobID == first.jobID)
            // Whichever was decided first (a resubmission can overtake its original in the queue)
            // made the decision; the other repeats it. Malformed requests are never recorded.
            if first.reasons.first?.code != .malformedRequest {
                #expect([first.duplicate, second.duplicate].filter { $0 }.count == 1, "\(first) / \(second)")
            }
        }
        // The budget held under concurrency: acme's reservations never passed its monthly limit.
        #expect(try world.env.count("SELECT coalesce(max(reserved), 0)::int FROM tenant_spend WHERE tenant = 'acme' AND period <> 'total'") <= 20_000)
    }
}
