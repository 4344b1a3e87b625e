import Admission
import AgentCore
import AgentTestSupport
import Foundation
import Testing

@Suite("Idempotency keys")
struct IdempotencyTests {
    @Test("The same key twice gives exactly one job; the second answer repeats the first decision")
    func sameKeyTwice() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()
        let body = AdmissionWorld.body(["tenant": "acme", "agent": "resnet-trainer@1.2.0", "max_runtime": "2h"])
        let first = SubmissionClient.Request(body: body, idempotencyKey: "once", priority: .high)
        try client.publish([first])
        let firstReply = try #require(try client.awaitDecisions(for: [first.correlationID], timeout: .seconds(30))[first.correlationID])
        let again = SubmissionClient.Request(body: body, idempotencyKey: "once", priority: .high)
        try client.publish([again])
        let secondReply = try #require(try client.awaitDecisions(for: [again.correlationID], timeout: .seconds(30))[again.correlationID])

        #expect(firstReply.decision == .admitted)
        #expect(!firstReply.duplicate)
        #expect(secondReply.duplicate)
        #expect(secondReply.jobID == firstReply.jobID)
        #expect(secondReply.projectedCost == "4.96")
        #expect(try world.env.count("SELECT count(*) FROM jobs WHERE idempotency_key = 'once'") == 1)
        #expect(try world.env.count("SELECT count(*) FROM events WHERE type = 'job.admitted'") == 1)
        #expect(try world.env.count("SELECT (reserved * 100)::int FROM tenant_spend WHERE tenant = 'acme' AND period = 'total'") == 496, "reserved once")
    }

    @Test("A request without reply_to, delivered twice, makes one job: its decision is its deduplication record, not an inbox row")
    func fireAndForgetTwice() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()
        let request = SubmissionClient.Request(
            body: AdmissionWorld.body(["tenant": "acme", "agent": "resnet-trainer@1.2.0", "max_runtime": "2h"]), idempotencyKey: "no-reply",
            priority: .normal)
        try client.publish([request, request], withReplies: false)  // a redelivery looks the same
        #expect(try eventually { try world.env.count("SELECT count(*) FROM admission_requests WHERE idempotency_key = 'no-reply'") == 1 })
        try client.publish([request], withReplies: false)
        Thread.sleep(forTimeInterval: 1)
        #expect(try world.env.count("SELECT count(*) FROM jobs WHERE idempotency_key = 'no-reply'") == 1)
        #expect(try world.env.count("SELECT count(*) FROM events WHERE type = 'job.admitted'") == 1)
        #expect(try world.env.count("SELECT (reserved * 100)::int FROM tenant_spend WHERE tenant = 'acme' AND period = 'total'") == 496, "reserved once")
        #expect(try world.env.count("SELECT count(*) FROM inbox WHERE consumer = 'admission'") == 0)
    }

    @Test("Keys belong to a tenant: two tenants using the same key get their own decisions")
    func keysAreScopedByTenant() throws {
        let world = try AdmissionWorld()
        defer { world.close() }
        let admission = world.startAdmission()
        defer { _ = admission.stopAndJoin() }
        let client = try world.client()
        let acme = SubmissionClient.Request(
            body: AdmissionWorld.body(["tenant": "acme", "agent": "resnet-trainer@1.2.0"]), idempotencyKey: "run-1", priority: .normal)
        let globex = SubmissionClient.Request(
            body: AdmissionWorld.body(["tenant": "globex", "agent": "gridworld-agent@0.3.0"]), idempotencyKey: "run-1", priority: .normal)
        try client.publish([acme, globex])
        let replies = try client.awaitDecisions(for: [acme.correlationID, globex.correlationID], timeout: .seconds(30))
        #expect(replies[acme.correlationID]?.tenant == "acme")
        #expect(replies[globex.correlationID]?.tenant == "globex")
        #expect(replies[globex.correlationID]?.duplicate == false)
        #expect(replies[acme.correlationID]?.jobID != replies[globex.correlationID]?.jobID)
        #expect(try world.env.count("SELECT count(*) FROM jobs WHERE idempotency_key = 'run-1'") == 2)
    }
}
