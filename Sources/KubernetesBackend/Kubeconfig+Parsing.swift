import Foundation
import Yams

/// The kubeconfig format (`kind: Config`): named clusters, users and contexts, and a current context.
extension Kubeconfig {
    /// Parses kubeconfig text. Relative file names in it are resolved against `directory`
    /// (the file's own directory, as kubectl does; nil leaves them relative to the working directory).
    public static func parse(yaml: String, relativeTo directory: String? = nil, context: String? = nil) throws(KubeconfigError)
        -> Kubeconfig
    {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml), node.mapping != nil else {
                throw KubeconfigError("is not a kubeconfig: expected a mapping with clusters, users and contexts")
            }
            root = node
        } catch let error as KubeconfigError {
            throw error
        } catch {
            throw KubeconfigError("is not valid YAML: \(error)")
        }
        let reader = KubeconfigReader(directory: directory)
        return try reader.read(root, context: context)
    }
}

private struct KubeconfigReader {
    let directory: String?

    func read(_ root: Node, context requested: String?) throws(KubeconfigError) -> Kubeconfig {
        let contexts = try entries(root, "contexts")
        let contextName: String
        if let requested {
            contextName = requested
        } else if let current = try text(root["current-context"], at: "current-context"), !current.isEmpty {
            contextName = current
        } else {
            throw KubeconfigError("has no current-context; name a context (known: \(known(contexts)))")
        }
        guard let contextEntry = contexts[contextName] else {
            throw KubeconfigError("has no context \"\(contextName)\" (known: \(known(contexts)))")
        }
        let contextPath = "contexts[\(contextName)].context"
        guard let context = contextEntry["context"], context.mapping != nil else { throw KubeconfigError("\(contextPath) is missing") }
        guard let clusterName = try text(context["cluster"], at: "\(contextPath).cluster"), !clusterName.isEmpty else {
            throw KubeconfigError("\(contextPath).cluster is missing")
        }
        let namespace = try text(context["namespace"], at: "\(contextPath).namespace").flatMap { $0.isEmpty ? nil : $0 } ?? "default"

        let clusters = try entries(root, "clusters")
        guard let clusterEntry = clusters[clusterName] else {
            throw KubeconfigError("has no cluster \"\(clusterName)\" (named by context \"\(contextName)\"; known: \(known(clusters)))")
        }
        let clusterPath = "clusters[\(clusterName)].cluster"
        guard let cluster = clusterEntry["cluster"], cluster.mapping != nil else { throw KubeconfigError("\(clusterPath) is missing") }
        guard let server = try text(cluster["server"], at: "\(clusterPath).server"), !server.isEmpty else {
            throw KubeconfigError("\(clusterPath).server is missing")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw KubeconfigError("\(clusterPath).server must be an https:// (or http://) URL, got \(server)")
        }
        var config = Kubeconfig(server: server, namespace: namespace, contextName: contextName)
        config.certificateAuthority = try pem(cluster, "certificate-authority", at: clusterPath)
        if let flag = cluster["insecure-skip-tls-verify"] {
            guard let value = flag.bool else { throw KubeconfigError("\(clusterPath).insecure-skip-tls-verify must be true or false") }
            config.insecureSkipTLSVerify = value
        }

        // A context without a user connects without credentials.
        guard let userName = try text(context["user"], at: "\(contextPath).user"), !userName.isEmpty else { return config }
        let users = try entries(root, "users")
        guard let userEntry = users[userName] else {
            throw KubeconfigError("has no user \"\(userName)\" (named by context \"\(contextName)\"; known: \(known(users)))")
        }
        let userPath = "users[\(userName)].user"
        guard let user = userEntry["user"], user.mapping != nil else { return config }
        for unsupported in ["exec", "auth-provider", "username", "password"] where user[unsupported] != nil {
            throw KubeconfigError(
                "\(userPath).\(unsupported) is not supported: give the user a token, a tokenFile or a client certificate")
        }
        if let token = try text(user["token"], at: "\(userPath).token"), !token.isEmpty {
            config.token = .value(token)
        } else if let file = try text(user["tokenFile"], at: "\(userPath).tokenFile"), !file.isEmpty {
            config.token = .file(resolve(file))
        }
        config.clientCertificate = try pem(user, "client-certificate", at: userPath)
        config.clientKey = try pem(user, "client-key", at: userPath)
        if (config.clientCertificate == nil) != (config.clientKey == nil) {
            throw KubeconfigError("\(userPath) needs both client-certificate(-data) and client-key(-data), or neither")
        }
        return config
    }

    /// `key-data` (base64 of PEM) wins over `key` (a file), as in kubectl.
    func pem(_ node: Node, _ key: String, at path: String) throws(KubeconfigError) -> Kubeconfig.PEM? {
        if let encoded = try text(node["\(key)-data"], at: "\(path).\(key)-data"), !encoded.isEmpty {
            guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !data.isEmpty else {
                throw KubeconfigError("\(path).\(key)-data is not base64")
            }
            return .data(data)
        }
        if let file = try text(node[key], at: "\(path).\(key)"), !file.isEmpty { return .file(resolve(file)) }
        return nil
    }

    func resolve(_ file: String) -> String {
        guard let directory, !file.hasPrefix("/") else { return file }
        return URL(fileURLWithPath: file, relativeTo: URL(fileURLWithPath: directory, isDirectory: true)).standardizedFileURL.path
    }

    /// A list of `{name: ..., <kind>: {...}}` entries by name.
    func entries(_ root: Node, _ key: String) throws(KubeconfigError) -> [String: Node] {
        guard let list = root[key] else { return [:] }
        if list.null != nil { return [:] }
        guard let sequence = list.sequence else { throw KubeconfigError("\(key) must be a list") }
        var byName: [String: Node] = [:]
        for (offset, entry) in sequence.enumerated() {
            guard let name = try text(entry["name"], at: "\(key)[\(offset)].name"), !name.isEmpty else {
                throw KubeconfigError("\(key)[\(offset)].name is missing")
            }
            byName[name] = entry
        }
        return byName
    }

    func text(_ node: Node?, at path: String) throws(KubeconfigError) -> String? {
        guard let node else { return nil }
        if node.null != nil { return nil }
        guard let scalar = node.scalar else { throw KubeconfigError("\(path) must be a string") }
        return scalar.string
    }

    func known(_ entries: [String: Node]) -> String {
        entries.isEmpty ? "none" : entries.keys.sorted().joined(separator: ", ")
    }
}
