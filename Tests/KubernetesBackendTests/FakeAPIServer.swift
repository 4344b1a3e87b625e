import AgentCore
import AgentTestSupport
import Foundation

/// fake_apiserver.py on 127.0.0.1, one per test: it records every request it gets, and it exits
/// when this object goes (its stdin closes) or after 120 s.
final class FakeAPIServer {
    static let token = "s3cret-token"
    let scheme: String
    private let server: ScriptServer

    var port: Int { server.port }

    /// `tls`: serve HTTPS with this certificate and key, and require a client certificate signed by `clientCA`.
    init(tls: (certificate: String, key: String, clientCA: String)? = nil) throws {
        scheme = tls == nil ? "http" : "https"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_apiserver.py").path
        server = try ScriptServer(
            script: script,
            arguments: [Self.token, ScriptServer.recordPlaceholder] + (tls.map { [$0.certificate, $0.key, $0.clientCA] } ?? []))
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    func client(token: String = FakeAPIServer.token) -> KubernetesClientFactory { KubernetesClientFactory(server: url, token: token) }

    /// What it received so far, oldest first.
    func requests() throws -> [JSONValue] { try server.requests() }
}

struct FakeServerError: Error {
    var message: String
}
