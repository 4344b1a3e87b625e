/// A Kubernetes API call that failed: which request, the HTTP status and the API server's own
/// `Status` reason and message (`Forbidden`: "jobs.batch is forbidden: User ... cannot create ...").
/// Never carries a credential.
public struct KubernetesError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The server was not reached or the exchange broke (connection, TLS, timeout, a local file).
        case transport
        /// The server answered with an error status.
        case api
        /// The server answered 2xx with something that is not the expected object.
        case invalidResponse
        /// The object exists but is being deleted.
        case conflict
        /// The credentials could not be read (a token file).
        case credentials
    }

    public let kind: Kind
    /// `METHOD path` of the failed call.
    public let request: String
    public let status: Int?
    /// The `Status.reason` the API server gave (`AlreadyExists`, `NotFound`, `Forbidden`, `Invalid`...).
    public let reason: String?
    public let message: String

    public init(kind: Kind, request: String, status: Int? = nil, reason: String? = nil, message: String) {
        self.kind = kind
        self.request = request
        self.status = status
        self.reason = reason
        self.message = message
    }

    public var description: String {
        var text = request + ": "
        if let status { text += "HTTP \(status)" + (reason.map { " \($0)" } ?? "") + ": " }
        return text + message
    }
}
