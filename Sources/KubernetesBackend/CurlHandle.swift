import CCurl
import Foundation

/// An easy handle. Kept between requests (after `curl_easy_reset`) so its connection to the API
/// server is reused instead of a TLS handshake per call.
final class CurlHandle: @unchecked Sendable {  // used by one thread at a time (taken from a pool)
    let pointer: UnsafeMutableRawPointer
    /// libcurl writes a transfer's detailed error (CURLOPT_ERRORBUFFER) here.
    let errorBuffer: UnsafeMutablePointer<CChar>

    init() throws(KubernetesError) {
        guard CurlHandle.initialized, let pointer = curl_easy_init() else {
            throw KubernetesError(kind: .transport, request: "libcurl", message: "cannot initialise libcurl")
        }
        self.pointer = pointer
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(pointer)
        errorBuffer.deallocate()
    }

    /// curl_global_init is not thread-safe: a lazy static runs it exactly once.
    private static let initialized: Bool = agentmgr_curl_global_init() == CURLE_OK

    /// Runs `request` against `settings`, feeding the body to `sink`; returns the HTTP status.
    /// `stop` is asked about once a second (and on every chunk) and aborts the transfer when it
    /// says true; `timeout` false means no overall time limit (log streams).
    func perform(
        _ request: HTTPRequest, settings: KubernetesClient.Settings, sink: ResponseSink, timeout: Bool, stop: () -> Bool
    ) throws(KubernetesError) -> Int {
        curl_easy_reset(pointer)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headers) }
        for header in try settings.headers(for: request) { headers = curl_slist_append(headers, header) }
        try configure(request, settings: settings, headers: headers, timeout: timeout)

        let sinkContext = Unmanaged.passUnretained(sink).toOpaque()
        try check(
            agentmgr_curl_set_write_callback(
                pointer,
                { data, size, count, context in
                    let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
                    return sink.receive(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
                }, sinkContext), "CURLOPT_WRITEFUNCTION", request)

        let code = withoutActuallyEscaping(stop) { escapable in
            let box = StopBox(escapable)
            return withExtendedLifetime(box) {
                _ = agentmgr_curl_set_progress_callback(
                    pointer,
                    { context, _, _, _, _ in Unmanaged<StopBox>.fromOpaque(context!).takeUnretainedValue().stop() ? 1 : 0 },
                    Unmanaged.passUnretained(box).toOpaque())
                return curl_easy_perform(pointer)
            }
        }
        let status = agentmgr_curl_response_code(pointer)
        switch code {
        case CURLE_OK:
            return status
        case CURLE_ABORTED_BY_CALLBACK:
            return status  // stop() said so
        case CURLE_WRITE_ERROR where sink.failure != nil:
            throw KubernetesError(kind: .transport, request: request.label, status: Int(status), message: sink.failure!)
        default:
            let detail = String(cString: errorBuffer)
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            throw KubernetesError(
                kind: .transport, request: request.label, status: status == 0 ? nil : Int(status),
                message: "\(text) (\(settings.server), curl error \(code.rawValue))")
        }
    }

    private func configure(
        _ request: HTTPRequest, settings: KubernetesClient.Settings, headers: UnsafeMutablePointer<curl_slist>?, timeout: Bool
    ) throws(KubernetesError) {
        func set(_ option: CURLoption, _ value: Int, _ name: String) throws(KubernetesError) {
            try check(agentmgr_curl_set_long(pointer, option, value), name, request)
        }
        func set(_ option: CURLoption, _ value: String, _ name: String) throws(KubernetesError) {
            try check(agentmgr_curl_set_string(pointer, option, value), name, request)
        }
        func set(_ option: CURLoption, _ pem: Kubeconfig.PEM, file fileOption: CURLoption, _ name: String) throws(KubernetesError) {
            switch pem {
            case .file(let path): try set(fileOption, path, name)
            case .data(let data):
                let code = data.withUnsafeBytes { agentmgr_curl_set_blob(pointer, option, $0.baseAddress, $0.count) }
                try check(code, name + "_BLOB", request)
            }
        }
        try set(CURLOPT_URL, settings.url(for: request), "CURLOPT_URL")
        try check(agentmgr_curl_set_pointer(pointer, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER", request)
        try check(agentmgr_curl_set_pointer(pointer, CURLOPT_HTTPHEADER, headers), "CURLOPT_HTTPHEADER", request)
        if let body = request.body {
            let code = body.withUnsafeBytes { agentmgr_curl_set_body(pointer, $0.baseAddress, $0.count) }
            try check(code, "CURLOPT_COPYPOSTFIELDS", request)
        }
        if request.method != "GET" && request.method != "POST" { try set(CURLOPT_CUSTOMREQUEST, request.method, "CURLOPT_CUSTOMREQUEST") }
        try set(CURLOPT_NOSIGNAL, 1, "CURLOPT_NOSIGNAL")  // no SIGALRM: other threads run
        try set(CURLOPT_CONNECTTIMEOUT_MS, settings.connectTimeoutMilliseconds, "CURLOPT_CONNECTTIMEOUT_MS")
        try set(CURLOPT_TIMEOUT_MS, timeout ? settings.requestTimeoutMilliseconds : 0, "CURLOPT_TIMEOUT_MS")
        // A long quiet log stream must still notice a server that vanished.
        try set(CURLOPT_TCP_KEEPALIVE, 1, "CURLOPT_TCP_KEEPALIVE")
        try set(CURLOPT_TCP_KEEPIDLE, 30, "CURLOPT_TCP_KEEPIDLE")
        try set(CURLOPT_TCP_KEEPINTVL, 10, "CURLOPT_TCP_KEEPINTVL")
        let config = settings.config
        if let ca = config.certificateAuthority { try set(CURLOPT_CAINFO_BLOB, ca, file: CURLOPT_CAINFO, "CURLOPT_CAINFO") }
        if let certificate = config.clientCertificate, let key = config.clientKey {
            try set(CURLOPT_SSLCERTTYPE, "PEM", "CURLOPT_SSLCERTTYPE")
            try set(CURLOPT_SSLCERT_BLOB, certificate, file: CURLOPT_SSLCERT, "CURLOPT_SSLCERT")
            try set(CURLOPT_SSLKEYTYPE, "PEM", "CURLOPT_SSLKEYTYPE")
            try set(CURLOPT_SSLKEY_BLOB, key, file: CURLOPT_SSLKEY, "CURLOPT_SSLKEY")
        }
        if config.insecureSkipTLSVerify {
            try set(CURLOPT_SSL_VERIFYPEER, 0, "CURLOPT_SSL_VERIFYPEER")
            try set(CURLOPT_SSL_VERIFYHOST, 0, "CURLOPT_SSL_VERIFYHOST")
        }
    }

    private func check(_ code: CURLcode, _ option: String, _ request: HTTPRequest) throws(KubernetesError) {
        guard code != CURLE_OK else { return }
        throw KubernetesError(
            kind: .transport, request: request.label,
            message: "libcurl refused \(option): \(String(cString: curl_easy_strerror(code))) (curl error \(code.rawValue))")
    }
}

/// Lets the C progress callback reach the caller's `stop`.
private final class StopBox {
    let stop: () -> Bool
    init(_ stop: @escaping () -> Bool) { self.stop = stop }
}
