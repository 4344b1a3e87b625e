import AgentCore
import Foundation
import Synchronization

/// The Kubernetes API calls the backend needs (create, status, pods, delete, logs), over libcurl.
/// Every call blocks its thread, like the rest of the node agent's I/O: call it from a worker
/// thread, never from the async pool. Safe to share between threads; connections are reused.
public final class KubernetesClient: Sendable {
    public struct Settings: Sendable {
        public var config: Kubeconfig
        public var connectTimeout: Duration
        /// For each call except `streamLogs`, which runs until the log ends or it is stopped.
        public var requestTimeout: Duration

        public init(config: Kubeconfig, connectTimeout: Duration = .seconds(10), requestTimeout: Duration = .seconds(30)) {
            self.config = config
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
        }

        var server: String { config.server.hasSuffix("/") ? String(config.server.dropLast()) : config.server }
        var connectTimeoutMilliseconds: Int { Int(connectTimeout / .milliseconds(1)) }
        var requestTimeoutMilliseconds: Int { max(1, Int(requestTimeout / .milliseconds(1))) }

        func url(for request: HTTPRequest) -> String {
            guard !request.query.isEmpty else { return server + request.path }
            return server + request.path + "?"
                + request.query.map { "\(Self.percentEncoded($0.0))=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        }

        /// The bearer token is read here, per request: a token file is rotated under us.
        func headers(for request: HTTPRequest) throws(KubernetesError) -> [String] {
            var headers = ["Accept: application/json", "User-Agent: agentmgr-node-agent"]
            if request.body != nil { headers.append("Content-Type: application/json") }
            switch config.token {
            case .value(let token)?: headers.append("Authorization: Bearer \(token)")
            case .file(let path)?:
                guard let token = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                    !token.isEmpty
                else {
                    throw KubernetesError(kind: .credentials, request: request.label, message: "cannot read the token file \(path)")
                }
                headers.append("Authorization: Bearer \(token)")
            case nil: break
            }
            return headers
        }

        static func percentEncoded(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
        }

        private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    }

    public let settings: Settings
    /// Handles between calls, each holding its open connection.
    private let idle = Mutex<[CurlHandle]>([])

    public init(settings: Settings) { self.settings = settings }

    public convenience init(config: Kubeconfig) { self.init(settings: Settings(config: config)) }

    /// One call with its body in memory: the status and the body, whatever the status.
    func send(_ request: HTTPRequest) throws(KubernetesError) -> (status: Int, body: Data) {
        let pooled = idle.withLock { $0.popLast() }
        let handle: CurlHandle
        if let pooled { handle = pooled } else { handle = try CurlHandle() }
        let sink = ResponseSink()
        let status = try handle.perform(request, settings: settings, sink: sink, timeout: true) { false }
        idle.withLock { if $0.count < 4 { $0.append(handle) } }
        return (status, sink.body)
    }

    /// A call that must answer 2xx with a JSON object.
    func object(_ request: HTTPRequest) throws(KubernetesError) -> JSONValue {
        let (status, body) = try send(request)
        guard (200..<300).contains(status) else { throw Self.apiError(request, status: status, body: body) }
        return try Self.json(body, request: request, status: status)
    }

    static func json(_ body: Data, request: HTTPRequest, status: Int) throws(KubernetesError) -> JSONValue {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
        } catch {
            throw KubernetesError(
                kind: .invalidResponse, request: request.label, status: status, message: "expected a JSON object: \(error)")
        }
        guard case .object = value else {
            throw KubernetesError(kind: .invalidResponse, request: request.label, status: status, message: "expected a JSON object")
        }
        return value
    }

    /// The error for a non-2xx answer, with the `Status` object's reason and message when the body is one.
    static func apiError(_ request: HTTPRequest, status: Int, body: Data) -> KubernetesError {
        if let value = try? JSONValue.parse(body), value["kind"] == "Status", case .string(let message)? = value["message"] {
            var reason: String?
            if case .string(let text)? = value["reason"], !text.isEmpty { reason = text }
            return KubernetesError(kind: .api, request: request.label, status: status, reason: reason, message: message)
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return KubernetesError(kind: .api, request: request.label, status: status, message: text.isEmpty ? "no message" : text)
    }

    /// A path segment from a name (names are DNS labels, but a caller's string goes into a URL).
    static func segment(_ name: String) -> String { Settings.percentEncoded(name) }
}
