import AMQP
import Foundation
import Testing

@Suite("Queue types, declarations and broker errors")
struct QueueTypeTests {
    @Test("Quorum and stream queues can be declared and carry messages")
    func quorumAndStream() throws {
        let connection = try TestBroker.connect()
        try connection.enableConfirms()
        for type in [AMQPQueueType.quorum, .stream] {
            let spec = AMQPQueueSpec(name: TestBroker.uniqueName(type.rawValue), type: type)
            try TestBroker.withQueue(spec, on: connection) { queue in
                try connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Data("x".utf8)))
                let consumer = try TestBroker.connect()
                defer { consumer.close() }
                try consumer.setPrefetch(10)
                let arguments: AMQPTable = type == .stream ? ["x-stream-offset": .string("first")] : [:]
                try consumer.consume(queue: queue, arguments: arguments)
                let delivery = try #require(try consumer.nextDelivery(timeout: .seconds(5)))
                #expect(String(decoding: delivery.body, as: UTF8.self) == "x")
                try consumer.ack(delivery.deliveryTag)
            }
        }
    }

    @Test("The broker's refusal carries its reply code and text, and the connection stays usable")
    func refusalCarriesReplyText() throws {
        let connection = try TestBroker.connect()
        defer { connection.close() }
        let spec = AMQPQueueSpec(name: TestBroker.uniqueName("refused"), type: .quorum, maxPriority: 5)
        let error = try #require(throws: AMQPError.self) { try connection.declareQueue(spec) }
        #expect(error.kind == .channelClosed)
        #expect(error.code == 406)
        #expect(error.message.contains("x-max-priority"))

        let missing = try #require(throws: AMQPError.self) {
            try connection.messageCount(queue: TestBroker.uniqueName("missing"))
        }
        #expect(missing.code == 404)
        #expect(missing.message.contains("NOT_FOUND"))
        // The channel is reopened transparently.
        let ok = AMQPQueueSpec(name: TestBroker.uniqueName("after-error"))
        try TestBroker.withQueue(ok, on: connection) { queue throws in
            #expect(try connection.messageCount(queue: queue) == 0)
        }
    }

    @Test("A wrong password is a connection error that does not repeat the password")
    func wrongPassword() throws {
        var url = try TestBroker.url()
        url.password = "not-the-password-\(UUID().uuidString)"
        let error = try #require(throws: AMQPError.self) { try AMQPConnection(url: url) }
        #expect(error.kind == .connection)
        #expect(!error.description.contains(url.password))
    }

    @Test("Nothing listens on the port: a connection error naming host and port")
    func nothingListening() throws {
        let url = AMQPURL(host: "127.0.0.1", port: 1, connectTimeout: 2)
        let error = try #require(throws: AMQPError.self) { try AMQPConnection(url: url) }
        #expect(error.kind == .connection)
        #expect(error.description.contains("127.0.0.1:1"))
    }
}
