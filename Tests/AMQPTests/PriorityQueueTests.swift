import AMQP
import Foundation
import Testing

@Suite("Priority queues")
struct PriorityQueueTests {
    @Test("A high-priority message is handed out before a backlog of low-priority ones")
    func highPriorityJumpsTheBacklog() throws {
        let connection = try TestBroker.connect()
        try connection.enableConfirms()
        let spec = AMQPQueueSpec(name: TestBroker.uniqueName("priority"), maxPriority: 10)
        try TestBroker.withQueue(spec, on: connection) { queue in
            let backlog = (0..<5_000).map { index in
                AMQPOutgoingMessage(
                    exchange: "", routingKey: queue, properties: AMQPProperties(messageID: "low-\(index)", priority: 0),
                    body: Data("low".utf8))
            }
            try connection.publish(backlog)
            try connection.publish(
                AMQPOutgoingMessage(
                    exchange: "", routingKey: queue, properties: AMQPProperties(messageID: "urgent", priority: 9),
                    body: Data("high".utf8)))

            let consumer = try TestBroker.connect()
            defer { consumer.close() }
            try consumer.setPrefetch(1)
            try consumer.consume(queue: queue)
            let first = try #require(try consumer.nextDelivery(timeout: .seconds(5)))
            #expect(first.properties.messageID == "urgent")
            #expect(first.properties.priority == 9)
            try consumer.ack(first.deliveryTag)
            let second = try #require(try consumer.nextDelivery(timeout: .seconds(5)))
            #expect(second.properties.messageID == "low-0")
        }
    }
}
