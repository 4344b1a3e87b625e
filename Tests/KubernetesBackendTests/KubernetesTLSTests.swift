import Foundation
import Testing

@testable import KubernetesBackend

/// The TLS settings of a kubeconfig reach libcurl: the fake API server speaks HTTPS with a
/// certificate from a throwaway CA and requires a client certificate (made with the openssl CLI).
@Suite("The Kubernetes client over TLS")
struct KubernetesTLSTests {
    @Test("CA and client certificate given inline (blobs) or as files; without a client certificate the handshake fails")
    func mutualTLS() throws {
        let pki = try TestPKI()
        let server = try FakeAPIServer(tls: (pki.path("server.pem"), pki.path("server.key"), pki.path("ca.pem")))
        func client(_ config: Kubeconfig) -> KubernetesClient {
            KubernetesClient(settings: .init(config: config, requestTimeout: .seconds(10)))
        }

        let inline = Kubeconfig(
            server: server.url, certificateAuthority: .data(try pki.data("ca.pem")), token: .value(FakeAPIServer.token),
            clientCertificate: .data(try pki.data("client.pem")), clientKey: .data(try pki.data("client.key")))
        #expect(try client(inline).jobStatus(name: "missing", namespace: "training") == nil)  // 404 over mTLS

        let tokenFile = pki.path("token")
        try FakeAPIServer.token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let files = Kubeconfig(
            server: server.url, certificateAuthority: .file(pki.path("ca.pem")), token: .file(tokenFile),
            clientCertificate: .file(pki.path("client.pem")), clientKey: .file(pki.path("client.key")))
        #expect(try client(files).jobStatus(name: "missing", namespace: "training") == nil)
        #expect(try server.requests().count == 2)

        var anonymous = inline
        anonymous.clientCertificate = nil
        anonymous.clientKey = nil
        let refused = #expect(throws: KubernetesError.self) { try client(anonymous).jobStatus(name: "missing", namespace: "training") }
        #expect(refused?.kind == .transport)  // the alert, or a reset: TLS 1.3 tells the client after its request

        var untrusted = inline
        untrusted.certificateAuthority = .data(try pki.data("client.pem"))  // not the server's issuer
        let unverified = #expect(throws: KubernetesError.self) { try client(untrusted).jobStatus(name: "missing", namespace: "training") }
        #expect(unverified?.kind == .transport)
        #expect(unverified?.message.contains("certificate") == true)  // "SSL certificate problem: ..."

        untrusted.insecureSkipTLSVerify = true
        #expect(try client(untrusted).jobStatus(name: "missing", namespace: "training") == nil)
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in a temporary directory.
struct TestPKI {
    let directory: String

    init() throws {
        directory = try temporaryDirectory()
        let script = """
            set -e
            key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
            key ca.key; key server.key; key client.key
            openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=fake-ca
            openssl req -new -key server.key -out server.csr -subj /CN=127.0.0.1
            printf 'subjectAltName=IP:127.0.0.1\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
            openssl req -new -key client.key -out client.csr -subj /CN=agentmgr-node-agent
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FakeServerError(message: "openssl could not make test certificates: \(message)") }
    }

    func path(_ name: String) -> String { directory + "/" + name }
    func data(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }
}
