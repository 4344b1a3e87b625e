import AMQP
import Foundation

/// A message a handler wants published once its transaction commits.
public struct OutboxMessage: Sendable, Equatable {
    public var exchange: String
    public var routingKey: String
    public var messageID: String
    public var properties: Properties
    public var body: String
    /// May travel in one batch message with the messages next to it of the same destination and
    /// type (`packingEvents`): events of record (`HandlerContext.emit`) and their copies to nodes.
    var packable = false

    public init(exchange: String, routingKey: String, messageID: String, properties: Properties = Properties(), body: String) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.messageID = messageID
        self.properties = properties
        self.body = body
    }

    /// The AMQP properties kept with an outbox row (stored as JSON).
    public struct Properties: Sendable, Equatable, Codable {
        public var type: String?
        public var priority: UInt8?
        public var correlationID: String?
        public var replyTo: String?
        public var headers: [String: String]?

        public init(
            type: String? = nil, priority: UInt8? = nil, correlationID: String? = nil, replyTo: String? = nil,
            headers: [String: String]? = nil
        ) {
            self.type = type
            self.priority = priority
            self.correlationID = correlationID
            self.replyTo = replyTo
            self.headers = headers
        }

        enum CodingKeys: String, CodingKey {
            case type, priority, headers
            case correlationID = "correlation_id"
            case replyTo = "reply_to"
        }
    }

    /// The message as the relay publishes it: persistent JSON with our properties.
    var amqpMessage: AMQPOutgoingMessage { outgoing(body: Data(body.utf8)) }

    /// What AMQP would refuse about the message: its names and properties (the body is not
    /// checked, so it is not copied: this runs for every message a handler emits).
    var validationError: String? { outgoing(body: Data()).validationError }

    private func outgoing(body: Data) -> AMQPOutgoingMessage {
        AMQPOutgoingMessage(
            exchange: exchange, routingKey: routingKey,
            properties: AMQPProperties(
                contentType: "application/json", messageID: messageID, correlationID: properties.correlationID,
                replyTo: properties.replyTo, type: properties.type, appID: "agentmgr", priority: properties.priority,
                timestamp: UInt64(Date().timeIntervalSince1970), persistent: true,
                headers: (properties.headers ?? [:]).mapValues { .string($0) }),
            body: body)
    }
}
