import Foundation

/// One call to the API server, as `CurlHandle.perform` sends it (the server, TLS and
/// credentials come from `KubernetesClient.Settings`).
struct HTTPRequest {
    var method: String
    var path: String
    var query: [(String, String)] = []
    var body: Data? = nil

    /// `METHOD path`, for errors (never the query: it holds nothing secret, but is noise).
    var label: String { "\(method) \(path)" }
}
