import AMQP
import AgentCore
import AgentTestSupport
import Foundation
import SchedulerWorker
import Testing

@Suite("The scheduler's input queues: admissions on their own, one dead-letter queue")
struct SchedulerQueuesTests {
    @Test("Over the earlier layout (admissions bound to the main queue), declaring the admissions queue takes them over at once")
    func admissionsRouteAlone() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let connection = try AMQPConnection(url: env.amqpURL)
        defer { connection.close() }
        let queues = SchedulerHandler.inputQueues(env.topology)
        let (admissions, rest) = (queues[0], queues[1])
        for queue in queues { env.track(queue: queue.name) }
        try connection.enableConfirms()
        func publish(_ key: String) throws {
            try connection.publish(AMQPOutgoingMessage(exchange: env.topology.eventsExchange, routingKey: key, body: Data("{}".utf8)))
        }

        // The earlier layout: one queue taking admissions with everything else.
        try env.topology.declare(
            InputQueue(name: rest.name, bindings: ["job.admitted"] + rest.bindings, type: .quorum), on: connection)
        // The admissions queue alone (its consumer may start before the main queue's): from then
        // on an admission goes to it, and only to it; none is left unrouted in between.
        try env.topology.declare(admissions, on: connection)
        try publish("job.admitted")
        // Confirmed publishes are in every queue they were routed to: these counts are final.
        #expect(try eventually { try connection.messageCount(queue: admissions.name) == 1 })
        #expect(try connection.messageCount(queue: rest.name) == 0)

        try env.topology.declare(rest, on: connection)
        for key in ["job.admitted", "job.finished", "node.lost"] { try publish(key) }
        #expect(try eventually { try connection.messageCount(queue: admissions.name) == 2 })
        #expect(try eventually { try connection.messageCount(queue: rest.name) == 2 })
    }

    @Test("A malformed admission is dead-lettered to the scheduler's one dead-letter queue, naming the queue it came from")
    func admissionDeadLetters() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let scheduler = try SchedulerUnderTest(env)
        defer { scheduler.stop() }
        let queues = SchedulerHandler.inputQueues(env.topology)
        let deadLetters = env.topology.deadLetterQueueName(env.topology.queueName(SchedulerHandler.workerName))
        env.track(queue: deadLetters)

        let connection = try AMQPConnection(url: env.amqpURL)
        defer { connection.close() }
        try connection.enableConfirms()
        try connection.publish(
            AMQPOutgoingMessage(
                exchange: env.topology.eventsExchange, routingKey: "job.admitted", properties: AMQPProperties(messageID: "bad-admission"),
                body: Data("{not json".utf8)))

        #expect(try eventually { try connection.messageCount(queue: deadLetters) == 1 })
        let reader = try AMQPConnection(url: env.amqpURL)  // deliveries and confirms on one connection do not mix
        defer { reader.close() }
        _ = try reader.consume(queue: deadLetters)
        let letter = try #require(try reader.nextDelivery(timeout: .seconds(5)))
        #expect(letter.properties.messageID == "bad-admission")
        #expect(letter.properties.headers["x-agentmgr-source-queue"]?.stringValue == queues[0].name)
        #expect(letter.properties.headers["x-agentmgr-reason"]?.stringValue?.hasPrefix("malformed message") == true)
        // No second dead-letter queue was made for the admissions queue.
        #expect(throws: AMQPError.self) { try connection.queueState(env.topology.deadLetterQueueName(queues[0].name)) }
    }
}
