import CRabbitMQ

/// Every failure of the AMQP layer: a rabbitmq-c status, or the broker closing a channel or the
/// connection with its reply code and text.
public struct AMQPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Could not open the TCP socket or log in.
        case connection
        /// A rabbitmq-c library status (socket error, timeout, unexpected frame...).
        case library
        /// The broker closed the channel (e.g. 406 PRECONDITION_FAILED, 404 NOT_FOUND).
        case channelClosed
        /// The broker closed the connection (e.g. 320 CONNECTION_FORCED on shutdown).
        case connectionClosed
        /// The broker negatively acknowledged a published message.
        case publishNacked
        /// Waiting for confirms or a reply took longer than allowed.
        case timeout
        /// The caller used the API wrongly (bad URL, message too large...).
        case usage
    }

    public let kind: Kind
    /// rabbitmq-c status code for `.library`, the AMQP reply code for `.channelClosed` / `.connectionClosed`.
    public let code: Int
    /// What the library or the broker said.
    public let message: String

    public init(_ kind: Kind, code: Int = 0, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// Errors after which the connection is unusable and must be replaced.
    public var isConnectionLost: Bool {
        switch kind {
        case .connection, .connectionClosed, .library, .timeout: true
        case .channelClosed, .publishNacked, .usage: false
        }
    }

    public var description: String {
        switch kind {
        case .library: "AMQP library error \(code): \(message)"
        case .channelClosed: "AMQP channel closed by broker (\(code)): \(message)"
        case .connectionClosed: "AMQP connection closed by broker (\(code)): \(message)"
        default: "AMQP \(kind): \(message)"
        }
    }

    static func status(_ status: Int32, _ context: String) -> AMQPError {
        let text = String(cString: amqp_error_string2(status))
        return AMQPError(.library, code: Int(status), "\(context): \(text)")
    }
}
