import Foundation
import Logging

/// A minimal HTTP/1.1 server for Prometheus: `GET /metrics` and `GET /healthz`, one request per
/// connection, on its own thread. Small on purpose: no HTTP framework (SwiftNIO) for two routes.
public final class MetricsServer: Sendable {
    let address: String
    let port: Int
    let metrics: @Sendable () -> String
    let healthy: @Sendable () -> Bool
    let logger: Logger

    public init(
        address: String = "127.0.0.1", port: Int, logger: Logger, metrics: @escaping @Sendable () -> String,
        healthy: @escaping @Sendable () -> Bool = { true }
    ) {
        self.address = address
        self.port = port
        self.metrics = metrics
        self.healthy = healthy
        self.logger = logger
    }

    public struct BindError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Listens until `stop`; a port that cannot be bound is logged and the worker goes on without metrics.
    public func run(until stop: StopSignal) {
        let listener: Int32
        do {
            listener = try bind()
        } catch {
            logger.error("metrics endpoint disabled", metadata: ["error": "\(error)"])
            return
        }
        defer { close(listener) }
        logger.info("serving /metrics and /healthz", metadata: ["address": "\(address):\(port)"])
        while !stop.isRequested {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 250) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            respond(on: client)
            close(client)
        }
    }

    private func bind() throws -> Int32 {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BindError(description: "socket(): errno \(errno)") }
        var reuse: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
            close(listener)
            throw BindError(description: "metrics address \(address) is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            let code = errno
            close(listener)
            throw BindError(description: "cannot listen on \(address):\(port): \(String(cString: strerror(code)))")
        }
        return listener
    }

    private func respond(on client: Int32) {
        // A scrape's request fits one read; wait at most a second for it.
        var poller = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 1_000) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let count = read(client, &buffer, buffer.count)
        guard count > 0 else { return }
        let requestLine = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\r\n").first ?? ""
        let parts = requestLine.split(separator: " ")
        let path = parts.count >= 2 ? String(parts[1]) : ""
        let (status, contentType, body): (String, String, String)
        switch (parts.first, path) {
        case ("GET", "/metrics"):
            (status, contentType, body) = ("200 OK", "text/plain; version=0.0.4", metrics())
        case ("GET", "/healthz"):
            (status, contentType, body) = healthy() ? ("200 OK", "text/plain", "ok\n") : ("503 Service Unavailable", "text/plain", "unhealthy\n")
        default:
            (status, contentType, body) = ("404 Not Found", "text/plain", "not found: GET /metrics or /healthz\n")
        }
        let payload = Array(body.utf8)
        let response = Array("HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n".utf8) + payload
        var sent = 0
        while sent < response.count {
            let written = response[sent...].withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            sent += written
        }
    }
}
