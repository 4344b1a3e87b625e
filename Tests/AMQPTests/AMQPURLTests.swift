import AMQP
import Testing

@Suite("AMQP URLs")
struct AMQPURLTests {
    @Test("user, password, host, port, vhost and heartbeat are read from the URL")
    func parsesEveryPart() throws {
        let url = try AMQPURL(parsing: "amqp://alice:s%40cret@broker.local:5673/team%2Fa?heartbeat=15")
        #expect(url == AMQPURL(host: "broker.local", port: 5673, user: "alice", password: "s@cret", vhost: "team/a", heartbeat: 15))
    }

    @Test("no path means the default vhost, and defaults fill what is missing")
    func defaults() throws {
        let url = try AMQPURL(parsing: "amqp://localhost")
        #expect(url.vhost == "/")
        #expect(url.port == 5672)
        #expect(url.user == "guest")
    }

    @Test("wrong scheme and bad heartbeat are rejected with the reason")
    func rejectsBadInput() {
        #expect(throws: AMQPError.self) { try AMQPURL(parsing: "http://localhost") }
        let error = #expect(throws: AMQPError.self) { try AMQPURL(parsing: "amqp://localhost/?heartbeat=soon") }
        #expect(error?.message.contains("heartbeat") == true)
    }

    @Test("the redacted form never shows the password")
    func redaction() throws {
        let url = try AMQPURL(parsing: "amqp://alice:hunter2@h:1/v")
        #expect(!url.redacted.contains("hunter2"))
        #expect(url.redacted.contains("alice@h:1"))
    }
}
