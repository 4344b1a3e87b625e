import AMQP
import AgentCore
import Foundation
import Postgres
import Synchronization

@testable import AgentRuntime

/// A private world for one test on the real services: its own database (migrated), its own
/// exchange and queue names. `close()` removes both.
final class RuntimeTestEnvironment: @unchecked Sendable {
    let amqpURL: AMQPURL
    let amqpURLText: String
    let databaseURL: String
    let databaseName: String
    let topology: Topology
    let pool: PostgresPool
    private let adminURL: String

    struct MissingService: Error, CustomStringConvertible {
        let variable: String
        var description: String {
            "\(variable) is not set: these tests need the real RabbitMQ and PostgreSQL. Run `make test`, "
                + "or `eval \"$(make -s services)\"` and then `swift test`."
        }
    }

    init() throws {
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

    func close() {
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

    /// The demo worker's input queue in this test's topology, declared.
    func demoQueue() throws -> InputQueue {
        let queue = InputQueue(name: topology.queueName("demo-worker"), bindings: ["demo.task"])
        let connection = try AMQPConnection(url: amqpURL)
        defer { connection.close() }
        try topology.declare(queue, on: connection)
        declaredQueues.withLock { $0.append(queue.name) }
        return queue
    }

    /// A queue bound to every event type, to observe what the relay publishes.
    func observerQueue() throws -> String {
        let name = topology.queueName("observer")
        let connection = try AMQPConnection(url: amqpURL)
        defer { connection.close() }
        try topology.declareExchanges(on: connection)
        try connection.declareQueue(AMQPQueueSpec(name: name))
        try connection.bindQueue(name, exchange: topology.eventsExchange, routingKey: "#")
        declaredQueues.withLock { $0.append(name) }
        return name
    }

    /// Environment for a worker process living in this test's world.
    func processEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["AGENTMGR_AMQP_URL"] = amqpURLText
        environment["AGENTMGR_DATABASE_URL"] = databaseURL
        environment["AGENTMGR_TOPOLOGY_PREFIX"] = topology.prefix
        environment["AGENTMGR_CONFIG"] = nil
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    func count(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> Int {
        try pool.withConnection { try $0.query(sql, parameters)[0].decode(0, as: Int.self) }
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/\(name)"
        return components.string!
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// Runs a blocking loop on its own thread until `stop()`; `join` waits for it to return.
final class BackgroundLoop: Sendable {
    let signal = StopSignal()
    private let finished = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable (StopSignal) -> Void) {
        let signal = signal
        let finished = finished
        Thread {
            body(signal)
            finished.signal()
        }.start()
    }

    func stopAndJoin(timeout: Duration = .seconds(30)) -> Bool {
        signal.request()
        return finished.wait(timeout: .now() + .seconds(Int(timeout.components.seconds))) == .success
    }
}

/// Builds demo.task events of one run.
func demoTasks(_ count: Int, accounts: [String] = ["a", "b", "c"], run: UUID = UUID()) -> [EventEnvelope] {
    (0..<count).map { index in
        EventEnvelope(
            type: "demo.task", producer: "tests", tenant: "demo", correlationID: run,
            payload: .object(["account": .string(accounts[index % accounts.count]), "amount": .number(Double(index % 5 + 1))]))
    }
}
