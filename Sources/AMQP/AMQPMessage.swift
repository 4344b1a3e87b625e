import Foundation

/// The basic properties of a message that this project uses.
public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    public var messageID: String?
    public var correlationID: String?
    public var replyTo: String?
    public var type: String?
    public var appID: String?
    /// 0...255; queues declared with `x-max-priority` honour it.
    public var priority: UInt8?
    /// Seconds since 1970.
    public var timestamp: UInt64?
    /// Persistent (2) unless stated otherwise: we never want a broker restart to lose a message.
    public var persistent: Bool
    public var expiration: String?
    public var headers: AMQPTable

    public init(
        contentType: String? = nil, messageID: String? = nil, correlationID: String? = nil,
        replyTo: String? = nil, type: String? = nil, appID: String? = nil, priority: UInt8? = nil,
        timestamp: UInt64? = nil, persistent: Bool = true, expiration: String? = nil, headers: AMQPTable = [:]
    ) {
        self.contentType = contentType
        self.messageID = messageID
        self.correlationID = correlationID
        self.replyTo = replyTo
        self.type = type
        self.appID = appID
        self.priority = priority
        self.timestamp = timestamp
        self.persistent = persistent
        self.expiration = expiration
        self.headers = headers
    }
}

/// A message to publish: where it goes, its properties and its body.
public struct AMQPOutgoingMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var properties: AMQPProperties
    public var body: Data

    public init(exchange: String, routingKey: String, properties: AMQPProperties = AMQPProperties(), body: Data) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
    }
}

/// A message the broker delivered to a consumer; settle it with ack, nack or reject by `deliveryTag`.
public struct AMQPDelivery: Sendable {
    public let deliveryTag: UInt64
    public let redelivered: Bool
    public let exchange: String
    public let routingKey: String
    public let consumerTag: String
    public let properties: AMQPProperties
    public let body: Data

    public init(
        deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String, consumerTag: String,
        properties: AMQPProperties, body: Data
    ) {
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.consumerTag = consumerTag
        self.properties = properties
        self.body = body
    }
}
