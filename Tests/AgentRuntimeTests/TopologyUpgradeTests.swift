import AMQP
import AgentCore
import AgentTestSupport
import Foundation
import Testing

@Suite("Topology upgrade: queues an earlier version declared differently")
struct TopologyUpgradeTests {
    @Test("An empty classic priority queue becomes the quorum lanes; one holding messages stops the worker with the reason")
    func replacesOnlyWhenEmpty() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let connection = try AMQPConnection(url: env.amqpURL)
        defer { connection.close() }
        let laned = InputQueue(
            name: env.topology.queueName("upgrade"), bindings: ["job.x"], source: .requests, type: .quorum,
            lanes: ["high", "low"], defaultLane: "low")
        let single = InputQueue(name: laned.name, bindings: ["job.x"], source: .requests, type: .classic, maxPriority: 4)
        for queue in laned.queueNames + [laned.name] { env.track(queue: queue) }

        // The old layout, empty: retired, and the lanes route.
        try env.topology.declare(single, on: connection)
        try env.topology.declare(laned, on: connection)
        #expect(throws: AMQPError.self) { try connection.queueState(laned.name) }
        try connection.enableConfirms()
        try connection.publish(AMQPOutgoingMessage(exchange: env.topology.requestsExchange, routingKey: "job.x.high", body: Data("1".utf8)))
        try connection.publish(AMQPOutgoingMessage(exchange: env.topology.requestsExchange, routingKey: "job.x", body: Data("2".utf8)))
        #expect(try eventually { try connection.messageCount(queue: laned.laneQueueName("high")) == 1 })
        #expect(try eventually { try connection.messageCount(queue: laned.laneQueueName("low")) == 1 })

        // A lane queue that exists as classic with a message in it is left alone, with a clear error.
        let other = InputQueue(name: env.topology.queueName("upgrade2"), bindings: ["job.y"], type: .quorum)
        env.track(queue: other.name)
        try connection.declareQueue(AMQPQueueSpec(name: other.name))
        try connection.publish(AMQPOutgoingMessage(exchange: "", routingKey: other.name, body: Data("kept".utf8)))
        let error = #expect(throws: AMQPError.self) { try env.topology.declare(other, on: connection) }
        #expect(error?.message.contains("holds 1 messages") == true, "\(error.map { "\($0)" } ?? "")")
        #expect(try connection.messageCount(queue: other.name) == 1)
    }
}
