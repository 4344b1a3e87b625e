import AMQP
import Foundation

/// Where the tests find their RabbitMQ: `AGENTMGR_AMQP_URL` (set by `make test`). Unset is a
/// failure, not a skip: these tests exist to exercise a real broker.
enum TestBroker {
    struct MissingURL: Error, CustomStringConvertible {
        var description: String {
            "AGENTMGR_AMQP_URL is not set: AMQPTests need a real RabbitMQ. Run `make test`, or "
                + "`eval \"$(make -s services)\"` and then `swift test`."
        }
    }

    static func url() throws -> AMQPURL {
        guard let text = ProcessInfo.processInfo.environment["AGENTMGR_AMQP_URL"], !text.isEmpty else {
            throw MissingURL()
        }
        return try AMQPURL(parsing: text)
    }

    static func connect() throws -> AMQPConnection {
        try AMQPConnection(url: url())
    }

    /// A queue name no other test (or earlier run) uses.
    static func uniqueName(_ prefix: String) -> String {
        "test.\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Declares a queue for the test and deletes it afterwards.
    static func withQueue<T>(
        _ spec: AMQPQueueSpec, on connection: AMQPConnection, _ body: (String) throws -> T
    ) throws -> T {
        try connection.declareQueue(spec)
        defer { try? connection.deleteQueue(spec.name) }
        return try body(spec.name)
    }
}
