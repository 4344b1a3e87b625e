import AgentCore
import Foundation

extension KubernetesClient {
    /// The Job's status; nil when there is no such Job (never created, deleted, or past its TTL).
    public func jobStatus(name: String, namespace: String) throws(KubernetesError) -> KubernetesJobStatus? {
        let request = HTTPRequest(method: "GET", path: "/apis/batch/v1/namespaces/\(Self.segment(namespace))/jobs/\(Self.segment(name))")
        let (status, body) = try send(request)
        if status == 404 { return nil }
        guard (200..<300).contains(status) else { throw Self.apiError(request, status: status, body: body) }
        return KubernetesJobStatus(job: try Self.json(body, request: request, status: status))
    }

    /// The Job's pods by completion index (the rank), oldest first within an index (a rank has
    /// more than one when a pod was replaced).
    public func pods(ofJob name: String, namespace: String) throws(KubernetesError) -> [KubernetesPod] {
        let request = HTTPRequest(
            method: "GET", path: "/api/v1/namespaces/\(Self.segment(namespace))/pods",
            query: [("labelSelector", "\(JobManifest.jobNameLabel)=\(name)")])
        let list = try object(request)
        guard case .array(let items)? = list["items"] else {
            throw KubernetesError(kind: .invalidResponse, request: request.label, message: "a pod list without items")
        }
        return items.map(KubernetesPod.init(pod:)).sorted {
            ($0.completionIndex, $0.createdAt ?? .distantPast, $0.name) < ($1.completionIndex, $1.createdAt ?? .distantPast, $1.name)
        }
    }
}
