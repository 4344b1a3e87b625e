import Foundation

/// How to reach one cluster and who to be there: one context of a kubeconfig file
/// (`load(path:context:)`), or a pod's own service account (`inCluster()`).
/// Its `description` names the server and the kind of credential, never the credential.
public struct Kubeconfig: Sendable, Equatable, CustomStringConvertible {
    /// PEM bytes, given inline (`*-data`, base64-decoded) or as a file read when connecting.
    public enum PEM: Sendable, Equatable {
        case file(String)
        case data(Data)
    }

    /// A bearer token, given inline or as a file read again for every request (service account
    /// tokens are rotated on disk).
    public enum Token: Sendable, Equatable {
        case value(String)
        case file(String)
    }

    /// The API server's base URL, e.g. `https://10.0.0.1:6443` (any path is kept as a prefix).
    public var server: String
    /// The context's namespace, "default" when it names none.
    public var namespace: String
    /// The context it was read from (nil for in-cluster).
    public var contextName: String?
    public var certificateAuthority: PEM?
    public var insecureSkipTLSVerify: Bool
    public var token: Token?
    public var clientCertificate: PEM?
    public var clientKey: PEM?

    public init(
        server: String, namespace: String = "default", contextName: String? = nil, certificateAuthority: PEM? = nil,
        insecureSkipTLSVerify: Bool = false, token: Token? = nil, clientCertificate: PEM? = nil, clientKey: PEM? = nil
    ) {
        self.server = server
        self.namespace = namespace
        self.contextName = contextName
        self.certificateAuthority = certificateAuthority
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.token = token
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }

    /// Reads the kubeconfig at `path`; relative file names in it are taken from its directory.
    /// `context` nil means the file's `current-context`.
    public static func load(path: String, context: String? = nil) throws(KubeconfigError) -> Kubeconfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubeconfigError("cannot read kubeconfig \(path): \(error.localizedDescription)")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            return try parse(yaml: text, relativeTo: directory, context: context)
        } catch {
            throw KubeconfigError("\(path): \(error.message)")
        }
    }

    public var description: String {
        var credentials: [String] = []
        if let token { credentials.append(token.isFile ? "token file" : "token") }
        if clientCertificate != nil { credentials.append("client certificate") }
        return "Kubeconfig(server: \(server), namespace: \(namespace)"
            + (contextName.map { ", context: \($0)" } ?? "")
            + ", credentials: \(credentials.isEmpty ? "none" : credentials.joined(separator: " + "))"
            + (insecureSkipTLSVerify ? ", TLS not verified" : "") + ")"
    }
}

extension Kubeconfig.Token {
    var isFile: Bool {
        if case .file = self { return true }
        return false
    }
}
