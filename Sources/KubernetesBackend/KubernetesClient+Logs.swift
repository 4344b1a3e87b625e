import Foundation

extension KubernetesClient {
    /// Appends the pod's log (its `main` container, followed) to `filePath` until the log ends
    /// (the container exited and everything was read) or `stop()` says true (asked about once a
    /// second even while the log is quiet, and on every chunk). Blocks: run it on a thread of its
    /// own. `skippingBytes` leaves out the start of the log a previous call already appended
    /// (Kubernetes resends a log from its beginning). Returns the bytes appended.
    ///
    /// A pod whose container has not started yet answers 400 (`container "main" ... is waiting to
    /// start`): the error says so, and the caller tries again later.
    @discardableResult
    public func streamLogs(
        pod: String, namespace: String, to filePath: String, skippingBytes: Int = 0, stop: () -> Bool
    ) throws(KubernetesError) -> Int {
        let request = HTTPRequest(
            method: "GET", path: "/api/v1/namespaces/\(Self.segment(namespace))/pods/\(Self.segment(pod))/log",
            query: [("container", JobManifest.containerName), ("follow", "true")])
        let file = try FileAppender(path: filePath)
        let handle = try CurlHandle()  // not pooled: a stream holds its connection for a long time
        let sink = ResponseSink(appendingTo: file, skip: skippingBytes, handle: handle)
        let status = try handle.perform(request, settings: settings, sink: sink, timeout: false, stop: stop)
        if status != 0, !(200..<300).contains(status) { throw Self.apiError(request, status: status, body: sink.body) }
        return sink.appended
    }
}
