import AgentTestSupport
import AMQP
import AgentCore
import DemoLedger
import Foundation
import Logging
import Testing

@testable import AgentRuntime

@Suite("Dead letters: malformed and repeatedly failing messages")
struct DeadLetterTests {
    @Test("A malformed message lands in the dead-letter queue with its reason, and the next good message is processed")
    func malformedThenGood() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let queue = try env.demoQueue()
        let loop = ConsumerLoop(
            settings: .init(consumerName: "demo-worker", queue: queue), handler: DemoLedgerHandler(),
            amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: Logger(label: "test"))
        let running = BackgroundLoop { loop.run(until: $0) }
        defer { _ = running.stopAndJoin() }

        let publisher = try AMQPConnection(url: env.amqpURL)
        defer { publisher.close() }
        try publisher.enableConfirms()
        let good = demoTasks(1, accounts: ["after-malformed"])[0]
        try publisher.publish([
            AMQPOutgoingMessage(
                exchange: env.topology.eventsExchange, routingKey: "demo.task",
                properties: AMQPProperties(messageID: "broken-1", correlationID: "corr-1"), body: Data("{not json".utf8)),
            AMQPOutgoingMessage(
                exchange: env.topology.eventsExchange, routingKey: "demo.task",
                properties: AMQPProperties(messageID: "broken-2"),
                body: Data(#"{"id":"6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01","type":"demo.task","schema_version":"one"}"#.utf8)),
            AMQPOutgoingMessage(
                exchange: env.topology.eventsExchange, routingKey: "demo.task",
                properties: AMQPProperties(messageID: good.id.uuidString.lowercased()), body: try good.encoded()),
        ])

        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger WHERE account = 'after-malformed'") == 1 })
        let letters = try readAll(queue: env.topology.deadLetterQueueName(queue.name), expecting: 2, url: env.amqpURL)
        #expect(letters.map(\.properties.messageID) == ["broken-1", "broken-2"])
        let firstReason = letters[0].properties.headers["x-agentmgr-reason"]?.stringValue ?? ""
        #expect(firstReason.hasPrefix("malformed message: invalid envelope"))
        #expect(letters[1].properties.headers["x-agentmgr-reason"]?.stringValue?.contains("schema_version") == true)
        #expect(letters[0].properties.headers["x-agentmgr-source-queue"]?.stringValue == queue.name)
        #expect(letters[0].properties.correlationID == "corr-1")
        #expect(String(decoding: letters[0].body, as: UTF8.self) == "{not json")
    }

    @Test("A message whose handler keeps failing is retried, then dead-lettered after max attempts; the others are applied")
    func failingHandler() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let queue = try env.demoQueue()
        let loop = ConsumerLoop(
            settings: .init(consumerName: "demo-worker", queue: queue, maxAttempts: 3), handler: DemoLedgerHandler(),
            amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: Logger(label: "test"))
        let running = BackgroundLoop { loop.run(until: $0) }
        defer { _ = running.stopAndJoin() }

        var tasks = demoTasks(20)
        tasks.insert(demoTasks(1, accounts: ["frozen"])[0], at: 7)  // the demo handler always throws for it
        let publisher = try AMQPConnection(url: env.amqpURL)
        defer { publisher.close() }
        try publisher.enableConfirms()
        try publisher.publish(
            try tasks.map {
                AMQPOutgoingMessage(exchange: env.topology.eventsExchange, routingKey: $0.type, body: try $0.encoded())
            })

        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger") == 20 })
        let letters = try readAll(queue: env.topology.deadLetterQueueName(queue.name), expecting: 1, url: env.amqpURL)
        #expect(letters.count == 1)
        #expect(letters.first?.properties.headers["x-agentmgr-attempts"]?.intValue == 3)
        #expect(letters.first?.properties.headers["x-agentmgr-reason"]?.stringValue == "handler failed 3 times: account frozen refuses every task")
        #expect(try env.count("SELECT attempts FROM inbox_failures WHERE message_id = $1", [tasks[7].id.uuidString.lowercased()]) == 3)
        // The failed message changed nothing.
        #expect(try env.count("SELECT count(*) FROM demo_balances WHERE account = 'frozen'") == 0)
    }

    private func readAll(queue: String, expecting count: Int, url: AMQPURL) throws -> [AMQPDelivery] {
        let connection = try AMQPConnection(url: url)
        defer { connection.close() }
        try connection.consume(queue: queue)
        var deliveries: [AMQPDelivery] = []
        while deliveries.count < count, let delivery = try connection.nextDelivery(timeout: .seconds(20)) {
            deliveries.append(delivery)
            try connection.ack(delivery.deliveryTag)
        }
        return deliveries
    }
}

extension DeadLetterTests {
    @Test("In a batch, a malformed event and a failing one are dead-lettered alone; the others are applied once")
    func batchWithBadEvents() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let queue = try env.demoQueue()
        let loop = ConsumerLoop(
            settings: .init(consumerName: "demo-worker", queue: queue, maxAttempts: 2), handler: DemoLedgerHandler(),
            amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: Logger(label: "test"))
        let running = BackgroundLoop { loop.run(until: $0) }
        defer { _ = running.stopAndJoin() }

        var tasks = demoTasks(10, accounts: ["batched"])
        tasks.insert(demoTasks(1, accounts: ["frozen"])[0], at: 4)  // the demo handler always throws for it
        var bodies = try tasks.map { String(decoding: try $0.encoded(), as: UTF8.self) }
        bodies.insert(#"{"id":"not-a-uuid","type":"demo.task"}"#, at: 2)
        var properties = AMQPProperties(messageID: "batch-1")
        properties.headers[EventBatch.header] = .string(String(bodies.count))
        let publisher = try AMQPConnection(url: env.amqpURL)
        defer { publisher.close() }
        try publisher.enableConfirms()
        let batch = AMQPOutgoingMessage(
            exchange: env.topology.eventsExchange, routingKey: "demo.task", properties: properties,
            body: Data("[\(bodies.joined(separator: ","))]".utf8))
        try publisher.publish(batch)

        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger WHERE account = 'batched'") == 10 })
        let letters = try readAll(queue: env.topology.deadLetterQueueName(queue.name), expecting: 3, url: env.amqpURL)
        let reasons = letters.compactMap { $0.properties.headers["x-agentmgr-reason"]?.stringValue }
        // The failing event requeues the batch once, so the malformed one is dead-lettered at each delivery.
        #expect(letters.filter { String(decoding: $0.body, as: UTF8.self) == bodies[2] }.count == 2, "the malformed event alone")
        #expect(reasons.contains { $0.hasPrefix("malformed message:") && $0.contains("id") })
        let frozen = letters.filter { (try? EventEnvelope.decode(from: $0.body))?.id == tasks[4].id }
        #expect(frozen.count == 1, "the failing event alone, once: \(reasons)")
        #expect(frozen.first?.properties.headers["x-agentmgr-reason"]?.stringValue == "handler failed 2 times: account frozen refuses every task")
        #expect(letters.allSatisfy { $0.properties.headers[EventBatch.header] == nil })
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try env.count("SELECT count(*) FROM demo_ledger WHERE account = 'batched'") == 10)
        #expect(try env.count("SELECT count(*) FROM demo_balances WHERE account = 'frozen'") == 0)
    }

    @Test("An event dead-lettered after its last attempt is not run again when a sibling's failure brings its batch back")
    func exhaustedSiblingNotRunAgain() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let queue = try env.demoQueue()
        let frozen = demoTasks(2, accounts: ["frozen"])  // the demo handler always throws for them
        let first = frozen[0].id.uuidString.lowercased()
        // The first already failed once before: its last attempt comes first, the second's first.
        try env.pool.withConnection { db in
            try db.query(
                "INSERT INTO inbox_failures (consumer, message_id, attempts, last_error) VALUES ('demo-worker', $1, 1, 'earlier')",
                [first])
        }
        let loop = ConsumerLoop(
            settings: .init(consumerName: "demo-worker", queue: queue, maxAttempts: 2), handler: DemoLedgerHandler(),
            amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: Logger(label: "test"))
        let running = BackgroundLoop { loop.run(until: $0) }
        defer { _ = running.stopAndJoin() }
        var properties = AMQPProperties(messageID: "batch-2")
        properties.headers[EventBatch.header] = .string("2")
        let publisher = try AMQPConnection(url: env.amqpURL)
        defer { publisher.close() }
        try publisher.enableConfirms()
        let bodies = try frozen.map { String(decoding: try $0.encoded(), as: UTF8.self) }
        try publisher.publish(
            AMQPOutgoingMessage(
                exchange: env.topology.eventsExchange, routingKey: "demo.task", properties: properties,
                body: Data("[\(bodies.joined(separator: ","))]".utf8)))

        let letters = try readAll(queue: env.topology.deadLetterQueueName(queue.name), expecting: 3, url: env.amqpURL)
        let ids = letters.compactMap { (try? EventEnvelope.decode(from: $0.body))?.id.uuidString.lowercased() }
        #expect(ids.filter { $0 == first }.count == 2, "dead-lettered at its last attempt, and again when its batch came back")
        #expect(ids.filter { $0 == frozen[1].id.uuidString.lowercased() }.count == 1)
        #expect(try env.count("SELECT attempts FROM inbox_failures WHERE message_id = $1", [first]) == 2, "never run a third time")
    }
}
