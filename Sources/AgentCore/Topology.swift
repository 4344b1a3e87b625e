import AMQP

/// Names of the exchanges and queues AgentManager uses, under one prefix so that tests (and several
/// installations on one broker) never see each other's messages.
public struct Topology: Sendable, Equatable {
    public var prefix: String

    public init(prefix: String = "agentmgr") {
        self.prefix = prefix
    }

    /// Topic exchange every event is published to, with the event type as routing key.
    public var eventsExchange: String { "\(prefix).events" }
    /// Direct exchange for requests from outside (job submissions), routing key = request kind.
    public var requestsExchange: String { "\(prefix).requests" }
    /// Topic exchange for dead letters; the routing key is the name of the queue the message failed in.
    public var deadLetterExchange: String { "\(prefix).dead-letter" }

    /// A worker's input queue name, e.g. `agentmgr.admission`.
    public func queueName(_ worker: String) -> String { "\(prefix).\(worker)" }
    /// The dead-letter queue that collects what `queue` could not process.
    public func deadLetterQueueName(_ queue: String) -> String { "\(queue).dead" }

    /// Declares the shared exchanges (idempotent).
    public func declareExchanges(on connection: AMQPConnection) throws {
        try connection.declareExchange(eventsExchange, type: .topic)
        try connection.declareExchange(deadLetterExchange, type: .topic)
        try connection.declareExchange(requestsExchange, type: .direct)
    }

    /// Declares a worker's input queue, its bindings to the events exchange and its dead-letter queue.
    public func declare(_ input: InputQueue, on connection: AMQPConnection) throws {
        try declareExchanges(on: connection)
        let deadLetters = deadLetterQueueName(input.name)
        try connection.declareQueue(AMQPQueueSpec(name: deadLetters, type: input.type == .stream ? .classic : input.type))
        try connection.bindQueue(deadLetters, exchange: deadLetterExchange, routingKey: input.name)
        var spec = AMQPQueueSpec(name: input.name, type: input.type, maxPriority: input.maxPriority)
        if input.type != .stream {
            spec.deadLetterExchange = deadLetterExchange
            spec.deadLetterRoutingKey = input.name
        }
        try connection.declareQueue(spec)
        for key in input.bindings {
            try connection.bindQueue(input.name, exchange: input.source == .requests ? requestsExchange : eventsExchange, routingKey: key)
        }
    }
}

/// A queue a worker consumes: which event types it takes and how it orders them.
public struct InputQueue: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Events of record from other components (topic exchange `<prefix>.events`).
        case events
        /// Requests from outside (direct exchange `<prefix>.requests`).
        case requests
    }

    public var name: String
    public var source: Source
    /// Routing keys (patterns on the events exchange: `job.*`, `demo.task`).
    public var bindings: [String]
    public var type: AMQPQueueType
    /// Priority lanes within the queue (classic queues only).
    public var maxPriority: UInt8?

    public init(
        name: String, bindings: [String], source: Source = .events, type: AMQPQueueType = .classic, maxPriority: UInt8? = nil
    ) {
        self.name = name
        self.source = source
        self.bindings = bindings
        self.type = type
        self.maxPriority = maxPriority
    }
}
