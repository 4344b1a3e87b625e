import Foundation

/// The parts of an `amqp://user:password@host:port/vhost?heartbeat=30` URL.
public struct AMQPURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var vhost: String
    /// Heartbeat interval in seconds (0 disables heartbeats).
    public var heartbeat: Int
    /// Seconds to wait for the TCP connection and login.
    public var connectTimeout: Int

    public init(
        host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest",
        vhost: String = "/", heartbeat: Int = 30, connectTimeout: Int = 10
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.vhost = vhost
        self.heartbeat = heartbeat
        self.connectTimeout = connectTimeout
    }

    /// Parses an AMQP URI as RabbitMQ documents it: the vhost is the percent-decoded path without its
    /// leading slash, and an absent path means the default vhost "/".
    public init(parsing text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            throw AMQPError(.usage, "AMQP URL is not a valid URL (expected amqp://user:password@host:port/vhost)")
        }
        guard scheme == "amqp" else {
            throw AMQPError(.usage, "AMQP URL scheme must be amqp, not \(scheme)")
        }
        self.init()
        host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        port = components.port ?? 5672
        user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "guest"
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? "guest"
        let path = components.percentEncodedPath
        if path.isEmpty {
            vhost = "/"
        } else {
            vhost = String(path.dropFirst()).removingPercentEncoding ?? String(path.dropFirst())
        }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "heartbeat":
                guard let value = item.value.flatMap(Int.init), value >= 0 else {
                    throw AMQPError(.usage, "AMQP URL heartbeat must be a non-negative integer of seconds")
                }
                heartbeat = value
            case "connection_timeout":
                guard let value = item.value.flatMap(Int.init), value > 0 else {
                    throw AMQPError(.usage, "AMQP URL connection_timeout must be a positive integer of seconds")
                }
                connectTimeout = value
            default:
                continue
            }
        }
    }

    /// The URL without its password, for logs and error messages.
    public var redacted: String {
        "amqp://\(user)@\(host):\(port)/\(vhost == "/" ? "" : vhost)"
    }
}
