import Foundation

/// Which cluster the node agent's Kubernetes backend uses, from its environment:
/// `AGENTMGR_KUBECONFIG` (a kubeconfig file, or `in-cluster` for the pod's service account; unset:
/// no Kubernetes backend), `AGENTMGR_KUBE_CONTEXT` (default: the file's current-context) and
/// `AGENTMGR_KUBE_NAMESPACE` (default: the context's namespace, else "default").
public struct KubernetesBackendSettings: Sendable, Equatable {
    public static let inCluster = "in-cluster"

    /// A kubeconfig path, or `inCluster`.
    public var kubeconfig: String
    public var context: String?
    public var namespace: String?

    public init(kubeconfig: String, context: String? = nil, namespace: String? = nil) {
        self.kubeconfig = kubeconfig
        self.context = context
        self.namespace = namespace
    }

    /// nil when AGENTMGR_KUBECONFIG is not set: the node runs replicas as local processes only.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> KubernetesBackendSettings?
    {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        guard let kubeconfig = value("AGENTMGR_KUBECONFIG") else { return nil }
        return KubernetesBackendSettings(
            kubeconfig: kubeconfig, context: value("AGENTMGR_KUBE_CONTEXT"), namespace: value("AGENTMGR_KUBE_NAMESPACE"))
    }

    /// Reads the kubeconfig (or the service account); `namespace`, when set, replaces the context's.
    public func load() throws(KubeconfigError) -> Kubeconfig {
        var config = kubeconfig == Self.inCluster ? try Kubeconfig.inCluster() : try Kubeconfig.load(path: kubeconfig, context: context)
        if let namespace {
            guard KubernetesNames.isDNSLabel(namespace) else {
                throw KubeconfigError("AGENTMGR_KUBE_NAMESPACE must be a DNS-1123 label, got \(namespace)")
            }
            config.namespace = namespace
        }
        return config
    }
}
