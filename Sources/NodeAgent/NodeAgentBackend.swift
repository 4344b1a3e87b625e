import Foundation
import KubernetesBackend
import Logging

/// Which backend runs this node's replicas: local processes (default), or Kubernetes Jobs when
/// `AGENTMGR_KUBECONFIG` is set (a kubeconfig path or `in-cluster`; with `AGENTMGR_KUBE_CONTEXT`,
/// `AGENTMGR_KUBE_NAMESPACE`, and `AGENTMGR_KUBE_CHECKPOINT_ROOT`, default `/checkpoints`: where
/// the pods' checkpoints go).
public struct NodeAgentBackend: Sendable {
    let launcher: any RunLauncher

    public var name: String { launcher.name }

    public static let local = NodeAgentBackend(launcher: LocalProcessLauncher())

    /// Errors name the variable or the kubeconfig key that is wrong.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, gracePeriod: Duration = .seconds(10), logger: Logger
    ) throws -> NodeAgentBackend {
        guard let settings = KubernetesBackendSettings.fromEnvironment(environment) else { return .local }
        let config: Kubeconfig
        do { config = try settings.load() } catch { throw NodeAgentError("AGENTMGR_KUBECONFIG \(settings.kubeconfig): \(error)") }
        let root = environment["AGENTMGR_KUBE_CHECKPOINT_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/checkpoints"
        guard root.hasPrefix("/") else { throw NodeAgentError("AGENTMGR_KUBE_CHECKPOINT_ROOT must be an absolute path, got \(root)") }
        return NodeAgentBackend(
            launcher: KubernetesLauncher(
                client: KubernetesClient(config: config), namespace: config.namespace, checkpointRoot: root, gracePeriod: gracePeriod,
                logger: logger))
    }
}
