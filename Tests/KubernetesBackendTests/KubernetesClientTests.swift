import AgentCore
import Foundation
import Testing

@testable import KubernetesBackend

/// Builds clients for the fake server (plain HTTP; TLS options are libcurl's).
struct KubernetesClientFactory {
    var server: String
    var token: String

    func make() -> KubernetesClient {
        KubernetesClient(settings: .init(config: Kubeconfig(server: server, token: .value(token)), requestTimeout: .seconds(10)))
    }
}

@Suite("The Kubernetes client against a fake API server")
struct KubernetesClientTests {
    @Test("create POSTs the Job with the bearer token; creating it again is success, not an error")
    func createIsIdempotent() throws {
        let server = try FakeAPIServer()
        let client = server.client().make()
        let job = try JobManifest.render(Fixtures.single())[0]
        let first = try client.create(job, namespace: "training")
        #expect(first.kind == "Job")
        #expect(first.name == Fixtures.name)
        #expect(!first.alreadyExisted)
        let again = try client.create(job, namespace: "training")
        #expect(again.alreadyExisted)
        #expect(again.uid == first.uid)

        let requests = try server.requests()
        #expect(
            requests.map { "\($0["method"]!.text!) \($0["path"]!.text!)" } == [
                "POST /apis/batch/v1/namespaces/training/jobs",
                "POST /apis/batch/v1/namespaces/training/jobs",  // 409 AlreadyExists
                "GET /apis/batch/v1/namespaces/training/jobs/\(Fixtures.name)",  // the existing one's uid
            ])
        #expect(requests[0]["authorization"] == .string("Bearer \(FakeAPIServer.token)"))
        #expect(requests[0]["content_type"] == "application/json")
        #expect(requests[0]["body"] == job)
    }

    @Test("A Job of that name that is being deleted is a conflict, not success")
    func beingDeletedConflicts() throws {
        let server = try FakeAPIServer()
        let job = try JobManifest.render(Fixtures.single())[0].setting(["metadata", "name"], "am-deleting")
        let error = #expect(throws: KubernetesError.self) { try server.client().make().create(job, namespace: "training") }
        #expect(error?.kind == .conflict)
        #expect(error?.message == "Job am-deleting is being deleted; create it again once it is gone")
    }

    @Test("submit creates a gang's Service as a dependent of its Job")
    func submitGang() throws {
        let server = try FakeAPIServer()
        let client = server.client().make()
        let references = try client.submit(try JobManifest.render(Fixtures.gang()), namespace: "training")
        #expect(references.map(\.kind) == ["Job", "Service"])
        let requests = try server.requests()
        #expect(requests.count == 2)
        #expect(requests[1]["path"] == "/api/v1/namespaces/training/services")
        #expect(
            requests[1]["body"]?["metadata"]?["ownerReferences"] == [
                ["apiVersion": "batch/v1", "kind": "Job", "name": .string(Fixtures.name), "uid": .string(references[0].uid)]
            ])
    }

    @Test("Errors carry the HTTP status and the API server's Status reason and message")
    func apiErrors() throws {
        let server = try FakeAPIServer()
        var request = Fixtures.single()
        request.namespace = "forbidden"
        let forbidden = #expect(throws: KubernetesError.self) {
            try server.client().make().create(try JobManifest.render(request)[0], namespace: "forbidden")
        }
        #expect(forbidden?.kind == .api)
        #expect(forbidden?.status == 403)
        #expect(forbidden?.reason == "Forbidden")
        #expect(forbidden?.message.contains(#"cannot create resource "jobs""#) == true)
        #expect(forbidden?.description.hasPrefix("POST /apis/batch/v1/namespaces/forbidden/jobs: HTTP 403 Forbidden: ") == true)

        let unauthorized = #expect(throws: KubernetesError.self) {
            try server.client(token: "wrong").make().jobStatus(name: "x", namespace: "training")
        }
        #expect(unauthorized?.status == 401)
        #expect(unauthorized?.description.contains("wrong") == false)  // never the token

        let unreachable = #expect(throws: KubernetesError.self) {
            try KubernetesClientFactory(server: "http://127.0.0.1:1", token: "t").make().jobStatus(name: "x", namespace: "training")
        }
        #expect(unreachable?.kind == .transport)
    }

    @Test("jobStatus reads counts and the Failed condition; a missing Job is nil")
    func jobStatus() throws {
        let server = try FakeAPIServer()
        let client = server.client().make()
        #expect(try client.jobStatus(name: Fixtures.name, namespace: "training") == nil)
        try client.create(try JobManifest.render(Fixtures.single())[0], namespace: "training")
        let status = try #require(try client.jobStatus(name: Fixtures.name, namespace: "training"))
        #expect(status.name == Fixtures.name)
        #expect(!status.uid.isEmpty)
        #expect((status.active, status.ready, status.succeeded, status.failed) == (1, 1, 0, 1))
        #expect(status.startTime == ISO8601.date(from: "2026-11-24T10:00:00Z"))
        #expect(status.outcome == .failed(reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit"))
    }

    @Test("pods lists the Job's pods by rank with phase, node, exit code and signal")
    func pods() throws {
        let server = try FakeAPIServer()
        let pods = try server.client().make().pods(ofJob: "am-gang", namespace: "training")
        #expect(pods.map(\.name) == ["am-gang-0-q2", "am-gang-1-x7"])
        #expect(pods.map(\.completionIndex) == [0, 1])
        #expect(pods[0].phase == "Running")
        #expect(pods[0].nodeName == "node-a")
        #expect(pods[0].exitCode == nil)
        #expect(!pods[0].terminated)
        #expect(pods[1].phase == "Failed")
        #expect(pods[1].exitCode == 137)
        #expect(pods[1].signal == 9)
        #expect(pods[1].reason == "OOMKilled")
        let request = try #require(try server.requests().first)
        #expect(request["path"] == "/api/v1/namespaces/training/pods")
        #expect(request["query"] == ["labelSelector": "batch.kubernetes.io/job-name=am-gang"])
    }

    @Test("delete removes the Job in the background (404 is fine); a grace period goes to its pods")
    func delete() throws {
        let server = try FakeAPIServer()
        let client = server.client().make()
        try client.create(try JobManifest.render(Fixtures.single())[0], namespace: "training")
        #expect(try client.delete(job: Fixtures.name, namespace: "training"))
        #expect(try !client.delete(job: Fixtures.name, namespace: "training"))
        #expect(try !client.delete(job: "am-gang", namespace: "training", gracePeriodSeconds: 5))
        let requests = Array(try server.requests().dropFirst())
        #expect(
            requests.map { "\($0["method"]!.text!) \($0["path"]!.text!)" } == [
                "DELETE /apis/batch/v1/namespaces/training/jobs/\(Fixtures.name)",
                "DELETE /apis/batch/v1/namespaces/training/jobs/\(Fixtures.name)",
                "DELETE /apis/batch/v1/namespaces/training/jobs/am-gang",
                "GET /api/v1/namespaces/training/pods",
                "DELETE /api/v1/namespaces/training/pods/am-gang-0-q2",
                "DELETE /api/v1/namespaces/training/pods/am-gang-1-x7",
            ])
        #expect(requests[0]["body"] == ["apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"])
        #expect(requests[4]["body"] == ["apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 5])
    }

    @Test("streamLogs appends the followed log to a file, can skip what it already has")
    func streamLogs() throws {
        let server = try FakeAPIServer()
        let client = server.client().make()
        let file = try temporaryDirectory() + "/stdout.log"
        try "earlier\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try client.streamLogs(pod: "finite", namespace: "training", to: file) { false } == 21)
        #expect(try client.streamLogs(pod: "finite", namespace: "training", to: file, skippingBytes: 14) { false } == 7)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "earlier\nline 1\nline 2\nline 3\nline 3\n")
        let request = try #require(try server.requests().first)
        #expect(request["path"] == "/api/v1/namespaces/training/pods/finite/log")
        #expect(request["query"] == ["container": "main", "follow": "true"])
    }

    @Test("streamLogs returns soon after stop() says so, even while the log goes on")
    func streamLogsStops() throws {
        let server = try FakeAPIServer()
        let file = try temporaryDirectory() + "/stdout.log"
        let started = ContinuousClock.now
        var stoppedAt: ContinuousClock.Instant?
        try server.client().make().streamLogs(pod: "endless", namespace: "training", to: file) {
            let lines = (try? String(contentsOfFile: file, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if stoppedAt == nil && (lines >= 2 || ContinuousClock.now - started > .seconds(20)) { stoppedAt = .now }
            return stoppedAt != nil
        }
        let asked = try #require(stoppedAt)
        #expect(ContinuousClock.now - asked < .seconds(3))
        #expect(try String(contentsOfFile: file, encoding: .utf8).hasPrefix("tick 0\ntick 1\n"))
    }

    @Test("A container not started yet is an error with the server's reason; nothing is written")
    func streamLogsWaiting() throws {
        let server = try FakeAPIServer()
        let file = try temporaryDirectory() + "/stdout.log"
        let error = #expect(throws: KubernetesError.self) {
            try server.client().make().streamLogs(pod: "waiting", namespace: "training", to: file) { false }
        }
        #expect(error?.status == 400)
        #expect(error?.message.contains("is waiting to start") == true)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "")
    }
}
