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
    /// Direct exchange carrying each placement to the nodes it uses: routing key = node id, so a
    /// node agent's queue receives its own placements only (not every placement in the cluster).
    public var placementsExchange: String { "\(prefix).placements" }

    /// A worker's input queue name, e.g. `agentmgr.admission`.
    public func queueName(_ worker: String) -> String { "\(prefix).\(worker)" }
    /// The dead-letter queue that collects what `queue` could not process.
    public func deadLetterQueueName(_ queue: String) -> String { "\(queue).dead" }

    /// Declares the shared exchanges (idempotent).
    public func declareExchanges(on connection: AMQPConnection) throws {
        try connection.declareExchange(eventsExchange, type: .topic)
        try connection.declareExchange(deadLetterExchange, type: .topic)
        try connection.declareExchange(requestsExchange, type: .direct)
        try connection.declareExchange(placementsExchange, type: .direct)
    }

    /// Declares a worker's input queue (one queue per lane when it has lanes), its bindings to the
    /// events or requests exchange, and its dead-letter queue.
    public func declare(_ input: InputQueue, on connection: AMQPConnection) throws {
        try declareExchanges(on: connection)
        let deadLetters = deadLetterQueueName(input.deadLetterKey)
        // Dead letters wait for a person: a plain classic queue whatever the input's type.
        try connection.declareQueue(AMQPQueueSpec(name: deadLetters))
        try connection.bindQueue(deadLetters, exchange: deadLetterExchange, routingKey: input.deadLetterKey)
        let exchange = switch input.source {
        case .events: eventsExchange
        case .requests: requestsExchange
        case .placements: placementsExchange
        }
        for queue in input.queueNames {
            var spec = AMQPQueueSpec(name: queue, type: input.type, maxPriority: input.maxPriority)
            if input.type != .stream {
                spec.deadLetterExchange = deadLetterExchange
                spec.deadLetterRoutingKey = input.deadLetterKey
            }
            try declareReplacingOutdated(spec, on: connection)
        }
        for key in input.bindings {
            if input.lanes.isEmpty {
                try connection.bindQueue(input.name, exchange: exchange, routingKey: key)
                continue
            }
            for lane in input.lanes {
                try connection.bindQueue(input.laneQueueName(lane), exchange: exchange, routingKey: "\(key).\(lane)")
            }
            if let defaultLane = input.defaultLane {
                try connection.bindQueue(input.laneQueueName(defaultLane), exchange: exchange, routingKey: key)
            }
        }
        if !input.lanes.isEmpty { try retireSingleQueue(input.name, on: connection) }
        if let earlier = input.takesBindingsFrom {
            try unbindTakenOver(input.bindings, from: earlier, exchange: exchange, on: connection)
        }
    }

    /// After a queue is declared and bound: the same keys are unbound from the queue that took
    /// them in an earlier layout (when it exists), so a message is never left unrouted in between
    /// and the earlier queue stops taking copies. (An earlier version's replica that declares its
    /// queue afterwards binds them again: its copies are duplicates, which the consumers ignore.)
    func unbindTakenOver(_ keys: [String], from queue: String, exchange: String, on connection: AMQPConnection) throws {
        do {
            _ = try connection.queueState(queue)
        } catch let error as AMQPError where error.kind == .channelClosed && error.code == 404 {
            return  // never existed
        }
        for key in keys { try connection.unbindQueue(queue, exchange: exchange, routingKey: key) }
    }

    /// Declares `spec`. A queue of that name declared with other arguments by an earlier version
    /// (say a classic priority queue now quorum) is replaced when it is empty and unused;
    /// otherwise the error says what to do, and nothing is deleted.
    func declareReplacingOutdated(_ spec: AMQPQueueSpec, on connection: AMQPConnection) throws {
        do {
            try connection.declareQueue(spec)
        } catch let error as AMQPError where error.kind == .channelClosed && error.code == 406 {
            let (messages, consumers) = try connection.queueState(spec.name)
            guard messages == 0, consumers == 0 else {
                throw AMQPError(
                    .usage,
                    "queue \(spec.name) exists with other arguments than this version declares (\(error.message)); it holds \(messages) messages and has \(consumers) consumers. Let the previous version drain it, then delete it (rabbitmqctl delete_queue \(spec.name)); it is re-created as a \(spec.type.rawValue) queue at the next start")
            }
            try connection.deleteQueue(spec.name)
            try connection.declareQueue(spec)
        }
    }

    /// The single queue an input had before it was split into lanes: deleted when empty and
    /// unused, so its binding stops taking copies of new messages.
    func retireSingleQueue(_ name: String, on connection: AMQPConnection) throws {
        let state: (messages: Int, consumers: Int)
        do {
            state = try connection.queueState(name)
        } catch let error as AMQPError where error.kind == .channelClosed && error.code == 404 {
            return  // never existed, or already retired
        }
        guard state.messages == 0, state.consumers == 0 else {
            throw AMQPError(
                .usage,
                "queue \(name) (the layout before priority lanes) still holds \(state.messages) messages and has \(state.consumers) consumers: let the previous version drain it, then delete it (rabbitmqctl delete_queue \(name)); its messages are not moved automatically")
        }
        try connection.deleteQueue(name)
    }
}

/// A queue a worker consumes: which event types it takes and how it orders them.
public struct InputQueue: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Events of record from other components (topic exchange `<prefix>.events`).
        case events
        /// Requests from outside (direct exchange `<prefix>.requests`).
        case requests
        /// Placements for one node (direct exchange `<prefix>.placements`, key = node id).
        case placements
    }

    public var name: String
    public var source: Source
    /// Routing keys (patterns on the events exchange: `job.*`, `demo.task`).
    public var bindings: [String]
    public var type: AMQPQueueType
    /// Priority within one queue (classic queues only).
    public var maxPriority: UInt8?
    /// Priority lanes, highest first: one queue per lane, `<name>.<lane>`, bound with
    /// `<binding>.<lane>`. The consumer takes from a higher lane before any lower one. Quorum
    /// queues cannot do `x-max-priority`, and on this broker a quorum queue costs a fraction of a
    /// classic priority queue per message (docs/benchmarks.md).
    public var lanes: [String]
    /// The lane a message published with the bare binding key lands in.
    public var defaultLane: String?
    /// The queue whose dead-letter queue takes this one's dead letters, when a worker with several
    /// input queues keeps one (nil: this queue's own, `<name>.dead`).
    public var deadLettersOf: String?
    /// The queue that took this one's bindings in an earlier layout: they are unbound from it
    /// once this queue is declared and bound (`Topology.declare`).
    public var takesBindingsFrom: String?

    public init(
        name: String, bindings: [String], source: Source = .events, type: AMQPQueueType = .classic, maxPriority: UInt8? = nil,
        lanes: [String] = [], defaultLane: String? = nil, deadLettersOf: String? = nil, takesBindingsFrom: String? = nil
    ) {
        self.name = name
        self.source = source
        self.bindings = bindings
        self.type = type
        self.maxPriority = maxPriority
        self.lanes = lanes
        self.defaultLane = defaultLane
        self.deadLettersOf = deadLettersOf
        self.takesBindingsFrom = takesBindingsFrom
    }

    /// The routing key of this queue's dead letters on the dead-letter exchange, and the name its
    /// dead-letter queue is named after.
    public var deadLetterKey: String { deadLettersOf ?? name }

    public func laneQueueName(_ lane: String) -> String { "\(name).\(lane)" }

    /// The queues to consume, highest lane first.
    public var queueNames: [String] { lanes.isEmpty ? [name] : lanes.map(laneQueueName) }
}
