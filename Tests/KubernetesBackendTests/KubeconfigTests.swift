import Foundation
import Testing

@testable import KubernetesBackend

@Suite("Reading kubeconfig files")
struct KubeconfigTests {
    static let kubeconfig = """
        apiVersion: v1
        kind: Config
        current-context: prod
        clusters:
        - name: prod-cluster
          cluster:
            server: https://10.0.0.1:6443
            certificate-authority: certs/ca.pem
        - name: lab-cluster
          cluster:
            server: https://lab.example:6443/
            certificate-authority-data: \(Data("LAB CA PEM".utf8).base64EncodedString())
            insecure-skip-tls-verify: true
        users:
        - name: agent
          user:
            token: "0123456789"
        - name: admin
          user:
            client-certificate-data: \(Data("CERT PEM".utf8).base64EncodedString())
            client-key-data: \(Data("KEY PEM".utf8).base64EncodedString())
        - name: robot
          user:
            tokenFile: ../secrets/token
            client-certificate: /etc/agentmgr/client.pem
            client-key: client.key
        - name: sso
          user:
            exec:
              command: kubelogin
        contexts:
        - name: prod
          context: {cluster: prod-cluster, user: agent, namespace: training}
        - name: lab
          context: {cluster: lab-cluster, user: admin}
        - name: robot
          context: {cluster: prod-cluster, user: robot}
        - name: sso
          context: {cluster: prod-cluster, user: sso}
        - name: broken
          context: {cluster: nowhere, user: agent}
        """

    @Test("The current context: server, token (read as text, not a number), namespace, CA file next to the kubeconfig")
    func currentContextWithToken() throws {
        let directory = try temporaryDirectory()
        let path = directory + "/config"
        try Self.kubeconfig.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try Kubeconfig.load(path: path)
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.contextName == "prod")
        #expect(config.namespace == "training")
        #expect(config.token == .value("0123456789"))
        #expect(config.certificateAuthority == .file(directory + "/certs/ca.pem"))
        #expect(config.clientCertificate == nil)
        #expect(!config.insecureSkipTLSVerify)
        #expect(!config.description.contains("0123456789"))  // never the credential
    }

    @Test("Client certificate and key given inline, CA data, insecure flag, default namespace")
    func inlineClientCertificate() throws {
        let config = try Kubeconfig.parse(yaml: Self.kubeconfig, context: "lab")
        #expect(config.server == "https://lab.example:6443/")
        #expect(config.namespace == "default")
        #expect(config.certificateAuthority == .data(Data("LAB CA PEM".utf8)))
        #expect(config.clientCertificate == .data(Data("CERT PEM".utf8)))
        #expect(config.clientKey == .data(Data("KEY PEM".utf8)))
        #expect(config.insecureSkipTLSVerify)
        #expect(config.token == nil)
    }

    @Test("Relative token file and key resolve against the kubeconfig's directory; absolute ones stay")
    func relativePaths() throws {
        let config = try Kubeconfig.parse(yaml: Self.kubeconfig, relativeTo: "/home/ops/.kube", context: "robot")
        #expect(config.token == .file("/home/ops/secrets/token"))
        #expect(config.clientCertificate == .file("/etc/agentmgr/client.pem"))
        #expect(config.clientKey == .file("/home/ops/.kube/client.key"))
    }

    @Test("Clear errors: unknown context, missing cluster, exec plugins, no current context, bad data")
    func errors() {
        func message(_ body: () throws(KubeconfigError) -> Kubeconfig) -> String {
            do {
                _ = try body()
                return "no error"
            } catch {
                return error.message
            }
        }
        #expect(
            message { () throws(KubeconfigError) in try Kubeconfig.parse(yaml: Self.kubeconfig, context: "staging") }
                == "has no context \"staging\" (known: broken, lab, prod, robot, sso)")
        #expect(
            message { () throws(KubeconfigError) in try Kubeconfig.parse(yaml: Self.kubeconfig, context: "broken") }
                .hasPrefix("has no cluster \"nowhere\" (named by context \"broken\""))
        #expect(
            message { () throws(KubeconfigError) in try Kubeconfig.parse(yaml: Self.kubeconfig, context: "sso") }
                .hasPrefix("users[sso].user.exec is not supported"))
        #expect(
            message { () throws(KubeconfigError) in try Kubeconfig.parse(yaml: "clusters: []\ncontexts: []") }
                == "has no current-context; name a context (known: none)")
        let noServer = "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {}}]"
        #expect(message { () throws(KubeconfigError) in try Kubeconfig.parse(yaml: noServer) } == "clusters[c].cluster.server is missing")
        let badData =
            "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
            + "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: '!!!'}}]"
        #expect(
            message { () throws(KubeconfigError) in try Kubeconfig.parse(yaml: badData) }
                == "clusters[c].cluster.certificate-authority-data is not base64")
        #expect(
            message { () throws(KubeconfigError) in try Kubeconfig.load(path: "/nonexistent/kubeconfig") }
                .hasPrefix("cannot read kubeconfig /nonexistent/kubeconfig"))
    }

    @Test("In a pod: the service account's token file, CA and namespace")
    func inCluster() throws {
        let directory = try temporaryDirectory()
        try "tok".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        try "CA".write(toFile: directory + "/ca.crt", atomically: true, encoding: .utf8)
        try "agentmgr\n".write(toFile: directory + "/namespace", atomically: true, encoding: .utf8)
        let config = try Kubeconfig.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"], directory: directory)
        #expect(config.server == "https://[fd00::1]:443")
        #expect(config.namespace == "agentmgr")
        #expect(config.token == .file(directory + "/token"))
        #expect(config.certificateAuthority == .file(directory + "/ca.crt"))
        #expect(throws: KubeconfigError.self) { try Kubeconfig.inCluster(environment: [:], directory: directory) }
    }
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-backend-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("The backend's settings from the node agent's environment")
struct KubernetesBackendSettingsTests {
    @Test("Unset means no backend; the namespace replaces the context's")
    func fromEnvironment() throws {
        #expect(KubernetesBackendSettings.fromEnvironment([:]) == nil)
        let path = try temporaryDirectory() + "/config"
        try KubeconfigTests.kubeconfig.write(toFile: path, atomically: true, encoding: .utf8)
        let settings = try #require(
            KubernetesBackendSettings.fromEnvironment([
                "AGENTMGR_KUBECONFIG": path, "AGENTMGR_KUBE_CONTEXT": "lab", "AGENTMGR_KUBE_NAMESPACE": "agents",
            ]))
        let config = try settings.load()
        #expect(config.contextName == "lab")
        #expect(config.namespace == "agents")
        var bad = settings
        bad.namespace = "Not_A_Label"
        #expect(throws: KubeconfigError.self) { try bad.load() }
    }
}
