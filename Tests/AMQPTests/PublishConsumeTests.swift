import AMQP
import Foundation
import Testing

@Suite("Publish with confirms, consume and ack against RabbitMQ")
struct PublishConsumeTests {
    @Test("10,000 persistent messages published with confirms all arrive, each exactly once")
    func roundTripOfTenThousand() throws {
        let publisher = try TestBroker.connect()
        try publisher.enableConfirms()
        let spec = AMQPQueueSpec(name: TestBroker.uniqueName("roundtrip"))
        try TestBroker.withQueue(spec, on: publisher) { queue in
            let messages = (0..<10_000).map { index in
                AMQPOutgoingMessage(
                    exchange: "", routingKey: queue,
                    properties: AMQPProperties(messageID: "m\(index)", headers: ["index": .long(Int64(index))]),
                    body: Data("payload \(index)".utf8))
            }
            try publisher.publish(messages)
            #expect(try publisher.messageCount(queue: queue) == 10_000)

            let consumer = try TestBroker.connect()
            defer { consumer.close() }
            try consumer.setPrefetch(500)
            try consumer.consume(queue: queue)
            var seen = Set<String>()
            var duplicates = 0
            while seen.count < 10_000, let delivery = try consumer.nextDelivery(timeout: .seconds(5)) {
                let id = try #require(delivery.properties.messageID)
                if !seen.insert(id).inserted { duplicates += 1 }
                #expect(delivery.properties.persistent)
                #expect(String(decoding: delivery.body, as: UTF8.self) == "payload \(id.dropFirst())")
                #expect(delivery.properties.headers["index"]?.intValue == Int(id.dropFirst()))
                try consumer.ack(delivery.deliveryTag)
            }
            #expect(seen.count == 10_000)
            #expect(duplicates == 0)
            #expect(try consumer.nextDelivery(timeout: .milliseconds(200)) == nil)
        }
    }

    @Test("An unacknowledged message is redelivered after the consumer's connection closes")
    func unackedIsRedelivered() throws {
        let connection = try TestBroker.connect()
        try connection.enableConfirms()
        let spec = AMQPQueueSpec(name: TestBroker.uniqueName("redeliver"))
        try TestBroker.withQueue(spec, on: connection) { queue in
            try connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: queue, body: Data("once".utf8)))
            do {
                let first = try TestBroker.connect()
                try first.consume(queue: queue)
                let delivery = try #require(try first.nextDelivery(timeout: .seconds(5)))
                #expect(!delivery.redelivered)
                first.close()  // no ack
            }
            let second = try TestBroker.connect()
            defer { second.close() }
            try second.consume(queue: queue)
            let again = try #require(try second.nextDelivery(timeout: .seconds(5)))
            #expect(again.redelivered)
            #expect(String(decoding: again.body, as: UTF8.self) == "once")
            try second.ack(again.deliveryTag)
        }
    }

    @Test("nack without requeue routes the message to the queue's dead-letter exchange")
    func nackDeadLetters() throws {
        let connection = try TestBroker.connect()
        let dlx = TestBroker.uniqueName("dlx")
        try connection.declareExchange(dlx, type: .fanout, durable: false)
        defer { try? connection.deleteExchange(dlx) }
        let dead = AMQPQueueSpec(name: TestBroker.uniqueName("dead"))
        try TestBroker.withQueue(dead, on: connection) { deadQueue in
            try connection.bindQueue(deadQueue, exchange: dlx, routingKey: "")
            let work = AMQPQueueSpec(name: TestBroker.uniqueName("work"), deadLetterExchange: dlx)
            try TestBroker.withQueue(work, on: connection) { workQueue in
                try connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: workQueue, body: Data("bad".utf8)))
                try connection.consume(queue: workQueue)
                let delivery = try #require(try connection.nextDelivery(timeout: .seconds(5)))
                try connection.nack(delivery.deliveryTag, requeue: false)
                // Poll until the broker moved it.
                var moved = 0
                for _ in 0..<50 where moved == 0 {
                    moved = try connection.messageCount(queue: deadQueue)
                    if moved == 0 { Thread.sleep(forTimeInterval: 0.05) }
                }
                #expect(moved == 1)
            }
        }
    }
}
