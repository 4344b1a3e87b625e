import AMQP
import AgentCore
import Foundation
import Postgres
import Synchronization

import AgentRuntime

/// A private world for one test on the real services: its own database (migrated), its own
/// exchange and queue names. `close()` removes both.
public final class RuntimeTestEnvironment: @unchecked Sendable {
    public let amqpURL: AMQPURL
    public let amqpURLText: String
    public let databaseURL: String
    public let databaseName: String
    public let topology: Topology
    public let pool: PostgresPool
    private let adminURL: String

    public struct MissingService: Error, CustomStringConvertible {
        public let variable: String
        public init(variable: String) { self.variable = variable }
        public var description: String {
            "\(variable) is not set: these tests need the real RabbitMQ and PostgreSQL. Run `make test`, "
                + "or `eval \"$(make -s services)\"` and then `swift test`."
        }
    }

    public init() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let amqp = environment["AGENTMGR_AMQP_URL"], !amqp.isEmpty else { throw MissingService(variable: "AGENTMGR_AMQP_URL") }
        guard let database = environment["AGENTMGR_DATABASE_URL"], !database.isEmpty else {
            throw MissingService(variable: "AGENTMGR_DATABASE_URL")
        }
        let suffix = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        amqpURLText = amqp
        amqpURL = try AMQPURL(parsing: amqp)
        adminURL = database
        databaseName = "test_\(suffix)"
        databaseURL = Self.replacingDatabase(in: database, with: databaseName)
        topology = Topology(prefix: "test\(suffix)")

        let admin = try PostgresConnection(url: adminURL, applicationName: "AgentRuntimeTests")
        defer { admin.close() }
        // CREATE DATABASE takes no parameters; the name is generated above from hex digits only.
        try admin.execute(script: "CREATE DATABASE \(databaseName)")
        pool = PostgresPool(url: databaseURL, maxConnections: 8, applicationName: "AgentRuntimeTests")
        try Migrator.bundled().migrate(pool)
    }

    public func close() {
        pool.close()
        if let admin = try? PostgresConnection(url: adminURL, applicationName: "AgentRuntimeTests") {
            try? admin.execute(script: "DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)")
            admin.close()
        }
        if let connection = try? AMQPConnection(url: amqpURL) {
            for queue in declaredQueues.withLock({ $0 }) {
                try? connection.deleteQueue(queue)
                try? connection.deleteQueue(topology.deadLetterQueueName(queue))
            }
            try? connection.deleteExchange(topology.eventsExchange)
            try? connection.deleteExchange(topology.deadLetterExchange)
            connection.close()
        }
    }

    private let declaredQueues = Mutex<[String]>([])

    /// Deletes `queue` (and its dead-letter queue) when the test ends.
    public func track(queue: String) {
        declaredQueues.withLock { $0.append(queue) }
    }

    /// The demo worker's input queue in this test's topology, declared.
    public func demoQueue() throws -> InputQueue {
        let queue = InputQueue(name: topology.queueName("demo-worker"), bindings: ["demo.task"])
        let connection = try AMQPConnection(url: amqpURL)
        defer { connection.close() }
        try topology.declare(queue, on: connection)
        declaredQueues.withLock { $0.append(queue.name) }
        return queue
    }

    /// A queue bound to every event type, to observe what the relay publishes.
    public func observerQueue() throws -> String {
        let name = topology.queueName("observer")
        let connection = try AMQPConnection(url: amqpURL)
        defer { connection.close() }
        try topology.declareExchanges(on: connection)
        try connection.declareQueue(AMQPQueueSpec(name: name))
        try connection.bindQueue(name, exchange: topology.eventsExchange, routingKey: "#")
        declaredQueues.withLock { $0.append(name) }
        return name
    }

    /// The ids of the events on `queue` (batches split), consuming until `expecting` are seen or
    /// nothing arrives for `idle`.
    public func observedEventIDs(queue: String, expecting: Int, idle: Duration = .seconds(10)) throws -> Set<String> {
        let connection = try AMQPConnection(url: amqpURL)
        defer { connection.close() }
        try connection.setPrefetch(500)
        try connection.consume(queue: queue)
        var seen = Set<String>()
        while seen.count < expecting, let delivery = try connection.nextDelivery(timeout: idle) {
            for element in try EventBatch.split(delivery) {
                seen.insert(try EventEnvelope.decode(from: element.body).id.uuidString.lowercased())
            }
            try connection.ack(delivery.deliveryTag)
        }
        return seen
    }

    /// Events waiting in the outbox (a batch row counts its events).
    public func outboxEventCount() throws -> Int {
        try count(
            "SELECT coalesce(sum(coalesce((properties->'headers'->>'\(EventBatch.header)')::int, 1)), 0)::int FROM outbox")
    }

    /// Environment for a worker process living in this test's world.
    public func processEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["AGENTMGR_AMQP_URL"] = amqpURLText
        environment["AGENTMGR_DATABASE_URL"] = databaseURL
        environment["AGENTMGR_TOPOLOGY_PREFIX"] = topology.prefix
        environment["AGENTMGR_CONFIG"] = nil
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    public func count(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> Int {
        try pool.withConnection { try $0.query(sql, parameters)[0].decode(0, as: Int.self) }
    }

    public static func replacingDatabase(in url: String, with name: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/\(name)"
        return components.string!
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// Runs a blocking loop on its own thread until `stop()`; `join` waits for it to return.
public final class BackgroundLoop: Sendable {
    public let signal = StopSignal()
    private let finished = DispatchSemaphore(value: 0)

    public init(_ body: @escaping @Sendable (StopSignal) -> Void) {
        let signal = signal
        let finished = finished
        Thread {
            body(signal)
            finished.signal()
        }.start()
    }

    public func stopAndJoin(timeout: Duration = .seconds(30)) -> Bool {
        signal.request()
        return finished.wait(timeout: .now() + .seconds(Int(timeout.components.seconds))) == .success
    }
}

/// Builds demo.task events of one run.
public func demoTasks(_ count: Int, accounts: [String] = ["a", "b", "c"], run: UUID = UUID()) -> [EventEnvelope] {
    (0..<count).map { index in
        EventEnvelope(
            type: "demo.task", producer: "tests", tenant: "demo", correlationID: run,
            payload: .object(["account": .string(accounts[index % accounts.count]), "amount": .number(Double(index % 5 + 1))]))
    }
}
