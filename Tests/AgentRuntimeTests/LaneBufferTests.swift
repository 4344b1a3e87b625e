import AMQP
import Foundation
import Testing

@testable import AgentRuntime

@Suite("Lane buffer: highest lane first, acks that never cover a waiting delivery")
struct LaneBufferTests {
    func delivery(_ tag: UInt64) -> AMQPDelivery {
        AMQPDelivery(
            deliveryTag: tag, redelivered: false, exchange: "x", routingKey: "k", consumerTag: "c", properties: AMQPProperties(),
            body: Data())
    }

    @Test("A batch takes the highest lane first, in arrival order within a lane")
    func highestLaneFirst() {
        var buffer = LaneBuffer(laneCount: 3)
        for (tag, lane) in [(1, 2), (2, 2), (3, 0), (4, 1), (5, 0), (6, 2)] { buffer.add(delivery(UInt64(tag)), lane: lane) }
        #expect(buffer.takeBatch(limit: 3).map(\.deliveryTag) == [3, 5, 4])
        #expect(buffer.takeBatch(limit: 10).map(\.deliveryTag) == [1, 2, 6])
        #expect(buffer.isEmpty)
    }

    @Test("A batch weighs what its deliveries carry: event batches count their events, and one always fits")
    func weighted() {
        var buffer = LaneBuffer(laneCount: 2)
        for (tag, lane) in [(1, 1), (2, 0), (3, 0), (4, 1)] { buffer.add(delivery(UInt64(tag)), lane: lane) }
        let weights: [UInt64: Int] = [1: 30, 2: 100, 3: 60, 4: 10]
        let weight = { (delivery: AMQPDelivery) in weights[delivery.deliveryTag]! }
        #expect(buffer.takeBatch(limit: 50, weight: weight).map(\.deliveryTag) == [2], "heavier than the limit, but alone")
        #expect(buffer.takeBatch(limit: 100, weight: weight).map(\.deliveryTag) == [3, 1, 4])
        #expect(buffer.isEmpty)
    }

    @Test("A delivery of a higher lane that does not fit ends the batch: no lower lane goes before it")
    func weightedKeepsLaneOrder() {
        var buffer = LaneBuffer(laneCount: 3)
        for (tag, lane) in [(1, 0), (2, 1), (3, 2)] { buffer.add(delivery(UInt64(tag)), lane: lane) }
        let weights: [UInt64: Int] = [1: 1, 2: 100, 3: 1]
        let weight = { (delivery: AMQPDelivery) in weights[delivery.deliveryTag]! }
        #expect(buffer.takeBatch(limit: 100, weight: weight).map(\.deliveryTag) == [1])
        #expect(buffer.takeBatch(limit: 100, weight: weight).map(\.deliveryTag) == [2])
        #expect(buffer.takeBatch(limit: 100, weight: weight).map(\.deliveryTag) == [3])
    }

    @Test("One queue: one multiple-ack per batch, as before lanes")
    func singleQueue() {
        var buffer = LaneBuffer(laneCount: 1)
        for tag in 1...5 { buffer.add(delivery(UInt64(tag)), lane: 0) }
        let batch = buffer.takeBatch(limit: 3).map(\.deliveryTag)
        let acks = buffer.settle(batch, requeued: [])
        #expect(acks.multipleUpTo == 3)
        #expect(acks.singles.isEmpty)
    }

    @Test("Deliveries newer than one still waiting in a lower lane are acked one by one; nacked ones not at all")
    func neverCoversWaiting() {
        var buffer = LaneBuffer(laneCount: 2)
        buffer.add(delivery(1), lane: 1)
        buffer.add(delivery(2), lane: 0)
        buffer.add(delivery(3), lane: 1)
        buffer.add(delivery(4), lane: 0)
        let first = buffer.takeBatch(limit: 2).map(\.deliveryTag)  // lane 0: 2, 4; tag 1 still waits
        #expect(first == [2, 4])
        let acks = buffer.settle(first, requeued: [4])
        #expect(acks.multipleUpTo == nil)
        #expect(acks.singles == [2])
        let second = buffer.takeBatch(limit: 10).map(\.deliveryTag)
        let rest = buffer.settle(second, requeued: [])
        #expect(rest.multipleUpTo == 3)
        #expect(rest.singles.isEmpty)
    }
}
