import AgentCore
import Foundation
import Testing

@testable import Admission

@Suite("job.admitted payload")
struct AdmittedPayloadTests {
    @Test("The hand-built payload equals what the Encodable conformance writes")
    func sameAsEncodable() throws {
        let body = #"""
            {"tenant": "acme", "agent": "trainer@1", "name": "sweep", "priority_class": "high", "replicas": 2,
             "resources": {"flavor": "gpu-v100", "gpus": 4, "cpu": 48, "memory_gib": 192}, "max_runtime": "6h",
             "checkpoint_interval": "30m", "retry": {"max_attempts": 5, "backoff": "2m", "retry_on": ["node_lost"]},
             "curriculum": [{"name": "warmup", "parameters": {"lr": 0.1}, "max_runtime": "1h"}],
             "depends_on": ["6F1C1A52-1B1E-4C36-9A52-8F0C2A1B9E01"], "labels": {"team": "vision"}, "same_zone": true}
            """#
        guard case .decoded(let spec, let problems) = JobSpecDecoder.decode(Data(body.utf8)) else {
            Issue.record("the spec should decode")
            return
        }
        #expect(problems.isEmpty)
        let job = AdmittedJob(
            id: UUID(), spec: spec, resources: Resources(flavor: "gpu-v100", gpus: 4, cpu: 48, memoryGiB: 192),
            projectedCost: Decimal(string: "119.04")!)
        let request = AdmissionRequest(
            spec: spec, problems: [], idempotencyKey: "k-1", replyTo: nil, correlationID: nil,
            submittedAt: Date(timeIntervalSince1970: 1_795_000_000.125))
        let payload = JobAdmittedPayload(job, request: request)
        #expect(try payload.jsonValue() == JSONValue(encoding: payload))
    }

    @Test("A job's retry policy and labels are stored as the JSON the Encodable conformance writes")
    func storedJSONColumns() throws {
        func parsed(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }
        for retry in [RetryPolicy(), RetryPolicy(maxAttempts: 5, backoffSeconds: 120, retryOn: [.exitNonzero], stallTimeoutSeconds: 600)] {
            #expect(try parsed(AdmissionStore.retryText(retry)) == parsed(AdmissionStore.jsonText(retry)))
        }
        #expect(try parsed(AdmissionStore.retryText(RetryPolicy())) != parsed(AdmissionStore.jsonText(RetryPolicy(maxAttempts: 4))))
        for labels in [[:], ["team": "vision", "example.com/cost-center": "r-42", "quote": "a \"b\"\n"]] {
            #expect(try parsed(AdmissionStore.labelsText(labels)) == parsed(AdmissionStore.jsonText(labels)))
        }
    }
}
