import Foundation

extension Kubeconfig {
    /// Where Kubernetes mounts a pod's service account: token, CA bundle, namespace.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The pod's own service account, as client-go's in-cluster config: the API server from
    /// KUBERNETES_SERVICE_HOST/PORT, the token file (read again for every request: it is rotated),
    /// the CA bundle and the pod's namespace from `directory`.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment, directory: String = serviceAccountDirectory
    ) throws(KubeconfigError) -> Kubeconfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeconfigError("not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        let token = "\(directory)/token"
        guard FileManager.default.isReadableFile(atPath: token) else {
            throw KubeconfigError("no service account token at \(token) (automountServiceAccountToken off?)")
        }
        let namespace = (try? String(contentsOfFile: "\(directory)/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let ca = "\(directory)/ca.crt"
        return Kubeconfig(
            server: "https://\(host.contains(":") ? "[\(host)]" : host):\(port)",  // an IPv6 address needs brackets
            namespace: namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            certificateAuthority: FileManager.default.fileExists(atPath: ca) ? .file(ca) : nil, token: .file(token))
    }
}
