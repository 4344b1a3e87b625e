/// The queue types RabbitMQ offers over AMQP 0-9-1.
public enum AMQPQueueType: String, Sendable {
    case classic, quorum, stream
}

/// Everything needed to declare a durable queue the same way on every start.
public struct AMQPQueueSpec: Sendable, Equatable {
    public var name: String
    public var type: AMQPQueueType
    /// Enables priority delivery (classic queues only; RabbitMQ refuses it on quorum and stream queues).
    public var maxPriority: UInt8?
    /// Rejected or expired messages go here (classic and quorum queues).
    public var deadLetterExchange: String?
    public var deadLetterRoutingKey: String?
    public var messageTTLMilliseconds: Int?
    public var exclusive: Bool
    public var autoDelete: Bool
    public var extraArguments: AMQPTable

    public init(
        name: String, type: AMQPQueueType = .classic, maxPriority: UInt8? = nil, deadLetterExchange: String? = nil,
        deadLetterRoutingKey: String? = nil, messageTTLMilliseconds: Int? = nil, exclusive: Bool = false,
        autoDelete: Bool = false, extraArguments: AMQPTable = [:]
    ) {
        self.name = name
        self.type = type
        self.maxPriority = maxPriority
        self.deadLetterExchange = deadLetterExchange
        self.deadLetterRoutingKey = deadLetterRoutingKey
        self.messageTTLMilliseconds = messageTTLMilliseconds
        self.exclusive = exclusive
        self.autoDelete = autoDelete
        self.extraArguments = extraArguments
    }

    /// The `x-` arguments sent with queue.declare.
    public var arguments: AMQPTable {
        var arguments = extraArguments
        if type != .classic { arguments["x-queue-type"] = .string(type.rawValue) }
        if let maxPriority { arguments["x-max-priority"] = .int(Int32(maxPriority)) }
        if let deadLetterExchange { arguments["x-dead-letter-exchange"] = .string(deadLetterExchange) }
        if let deadLetterRoutingKey { arguments["x-dead-letter-routing-key"] = .string(deadLetterRoutingKey) }
        if let messageTTLMilliseconds { arguments["x-message-ttl"] = .long(Int64(messageTTLMilliseconds)) }
        return arguments
    }
}

/// Exchange kinds.
public enum AMQPExchangeType: String, Sendable {
    case direct, topic, fanout, headers
}
