import AgentCore
import AgentTestSupport
import Foundation

/// fake_cluster.py on 127.0.0.1, one per test: a simulated Kubernetes API server whose Jobs get
/// pods that run a scripted "program" (the `FAKE_SCRIPT` variable of the container's env; see the
/// script's docstring). It records every request, and it exits when this object goes (its stdin
/// closes) or after 300 s.
final class FakeCluster: @unchecked Sendable {  // immutable after init; the record file is append-only
    static let token = "fake-cluster-token"
    private let server: ScriptServer

    var port: Int { server.port }

    init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_cluster.py").path
        server = try ScriptServer(script: script, arguments: [Self.token, ScriptServer.recordPlaceholder])
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// What it received so far, oldest first: `{"method", "path", "query": {name: value}, "body"}`.
    func requests() throws -> [JSONValue] { try server.requests() }

    /// Writes a kubeconfig (this server, the token, `namespace` as the context's) and returns its
    /// path: for AGENTMGR_KUBECONFIG.
    func kubeconfig(namespace: String) throws -> String {
        let path = server.directory + "/kubeconfig-\(namespace).yaml"
        let yaml = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: "\(url)"
            users:
            - name: fake
              user:
                token: "\(Self.token)"
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
                namespace: "\(namespace)"
            current-context: fake

            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
