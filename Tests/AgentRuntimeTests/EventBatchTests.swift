import AMQP
import AgentCore
import AgentTestSupport
import Foundation
import Logging
import Testing

@testable import AgentRuntime

/// Events of one type emitted together travel as one message and are split back on arrival.
@Suite("Event batches: packing in the outbox, splitting at the consumer")
struct EventBatchTests {
    private let topology = Topology(prefix: "batchtest")

    private func emitted(_ events: [EventEnvelope]) throws -> [OutboxMessage] {
        var messages: [OutboxMessage] = []
        for event in events {
            var message = OutboxMessage(
                exchange: topology.eventsExchange, routingKey: event.type, messageID: event.id.uuidString.lowercased(),
                body: String(decoding: try event.encoded(), as: UTF8.self))
            message.packable = true
            messages.append(message)
        }
        return messages
    }

    private func event(_ type: String, _ n: Int) -> EventEnvelope {
        EventEnvelope(type: type, producer: "test", subjects: ["job": "j\(n)"], payload: .object(["n": .number(Double(n))]))
    }

    private func delivery(_ message: OutboxMessage, tag: UInt64 = 7) -> AMQPDelivery {
        let outgoing = message.amqpMessage
        return AMQPDelivery(
            deliveryTag: tag, redelivered: false, exchange: outgoing.exchange, routingKey: outgoing.routingKey, consumerTag: "c",
            properties: outgoing.properties, body: outgoing.body)
    }

    @Test("A round's placement copies reach each node as one message: grouped by node, job order kept, other types apart")
    func placementsPerNode() throws {
        let jobs = (0..<4).map { event("job.scheduled", $0) }
        let nodes = [["n2"], ["n1", "n2"], ["n2"], ["n3"]]
        var copies = try zip(jobs, nodes).flatMap { try OutboxMessage.placementCopies(of: $0, nodes: $1, topology: topology) }
        copies += try OutboxMessage.placementCopies(of: event("job.finished", 9), nodes: ["n2"], topology: topology)
        let packed = OutboxMessage.packingEvents(OutboxMessage.groupedByNode(copies))
        #expect(packed.map(\.routingKey) == ["n1", "n2", "n2", "n3"])
        #expect(packed[1].properties.headers?[EventBatch.header] == "3", "three jobs placed on n2 in one message")
        #expect(packed[2].properties.type == "job.finished", "another type is not packed with them")
        let onN2 = try EventBatch.split(delivery(packed[1])).map { try EventEnvelope.decode(from: $0.body).id }
        #expect(onN2 == [jobs[0].id, jobs[1].id, jobs[2].id])
        #expect(packed[0].messageID == jobs[1].id.uuidString.lowercased(), "a lone copy keeps the event's id")
    }

    @Test("Consecutive events of one type become one message; order, lone events and other messages are kept")
    func packing() throws {
        let events = (0..<3).map { event("job.scheduled", $0) } + [event("job.pending", 3)] + (4..<6).map { event("job.scheduled", $0) }
        var messages = try emitted(events)
        let reply = OutboxMessage(exchange: "", routingKey: "amq.gen-reply", messageID: "r1", body: "{}")
        messages.insert(reply, at: 5)  // between job.scheduled 4 and 5
        let packed = OutboxMessage.packingEvents(messages)
        #expect(packed.map(\.routingKey) == ["job.scheduled", "job.pending", "job.scheduled", "amq.gen-reply", "job.scheduled"])
        #expect(packed[0].properties.headers?[EventBatch.header] == "3")
        #expect(packed[1].properties.headers == nil, "a lone event stays a plain message")
        #expect(packed[1].messageID == events[3].id.uuidString.lowercased())
        #expect(packed[2].body == messages[4].body, "one event before the reply: plain")
        #expect(packed[3] == reply)

        // Splitting gives every event back, in order, with the batch's tag.
        let split = try packed.flatMap { try EventBatch.split(delivery($0)) }
        let decoded = try split.filter { $0.routingKey != "amq.gen-reply" }.map { try EventEnvelope.decode(from: $0.body) }
        #expect(decoded.map(\.id) == events.map(\.id))
        #expect(split.allSatisfy { $0.deliveryTag == 7 })
        #expect(split.allSatisfy { $0.properties.headers[EventBatch.header] == nil })
        #expect(split[1].properties.messageID == "\(packed[0].messageID)#1")
    }

    @Test("Priority does not break a run (it is informational on events): the batch carries the highest")
    func priority() throws {
        var messages = try emitted((0..<3).map { event("job.scheduled", $0) })
        messages[0].properties.priority = 1
        messages[1].properties.priority = 4
        let packed = OutboxMessage.packingEvents(messages)
        #expect(packed.count == 1)
        #expect(packed[0].properties.priority == 4)
    }

    @Test("A run longer than the most one message carries is split into several")
    func maxPerMessage() throws {
        let packed = OutboxMessage.packingEvents(try emitted((0..<250).map { event("job.admitted", $0) }))
        #expect(packed.map { $0.properties.headers?[EventBatch.header] } == ["100", "100", "50"])
        #expect(Set(packed.map(\.messageID)).count == 3)
    }

    @Test("Element boundaries ignore brackets, commas and escaped quotes inside strings")
    func splitterStrings() throws {
        let body = #" [ {"a":"x,]}\"[{"} , [1,[2]] ,"s\\",3 ] "#
        var properties = AMQPProperties(messageID: "b")
        properties.headers[EventBatch.header] = .string("4")
        let parts = try EventBatch.split(
            AMQPDelivery(
                deliveryTag: 1, redelivered: false, exchange: "e", routingKey: "k", consumerTag: "c", properties: properties,
                body: Data(body.utf8)))
        #expect(parts.map { String(decoding: $0.body, as: UTF8.self) } == [#"{"a":"x,]}\"[{"}"#, "[1,[2]]", #""s\\""#, "3"])
    }

    @Test("A batch whose body is not a JSON array is refused whole", arguments: ["{}", "[]", " [ ] ", "[1,]", "[,1]", "[1", "[1] x", "[}]", "[\"a]"])
    func splitterRefuses(body: String) {
        var properties = AMQPProperties(messageID: "b")
        properties.headers[EventBatch.header] = .string("1")
        let delivery = AMQPDelivery(
            deliveryTag: 1, redelivered: false, exchange: "e", routingKey: "k", consumerTag: "c", properties: properties,
            body: Data(body.utf8))
        #expect(throws: JSONSyntaxError.self) { try EventBatch.split(delivery) }
    }

    @Test("A batch whose header does not give its number of elements, or of more than 1,000, is refused whole")
    func splitterCounts() throws {
        func delivery(_ body: String, header: AMQPFieldValue) -> AMQPDelivery {
            var properties = AMQPProperties(messageID: "b")
            properties.headers[EventBatch.header] = header
            return AMQPDelivery(
                deliveryTag: 1, redelivered: false, exchange: "e", routingKey: "k", consumerTag: "c", properties: properties,
                body: Data(body.utf8))
        }
        #expect(try EventBatch.split(delivery("[1,2]", header: .string("2"))).count == 2)
        #expect(try EventBatch.split(delivery("[1,2]", header: .long(2))).count == 2)
        #expect(throws: JSONSyntaxError.self) { try EventBatch.split(delivery("[1,2]", header: .string("1"))) }
        #expect(throws: JSONSyntaxError.self) { try EventBatch.split(delivery("[1,2]", header: .string("two"))) }
        let big = "[" + Array(repeating: "1", count: 1_001).joined(separator: ",") + "]"
        #expect(throws: JSONSyntaxError.self) { try EventBatch.split(delivery(big, header: .string("1001"))) }
    }

    @Test("A message without the batch header is one delivery, whatever its body")
    func plainMessage() throws {
        let plain = AMQPDelivery(
            deliveryTag: 1, redelivered: false, exchange: "e", routingKey: "k", consumerTag: "c",
            properties: AMQPProperties(messageID: "m"), body: Data("[1,2]".utf8))
        #expect(try EventBatch.split(plain).count == 1)
    }
}

extension EventBatchTests {
    private struct RequestHandler: MessageHandler {
        func decode(_ delivery: AMQPDelivery) throws -> String { String(decoding: delivery.body, as: UTF8.self) }
        func handle(_ message: String, context: HandlerContext) throws {}
    }

    private struct EventHandler: MessageHandler {
        func handle(_ message: EventEnvelope, context: HandlerContext) throws {}
    }

    @Test("Handlers of events split batches by default; any other handler decodes each message as sent unless it says it splits")
    func whoSplits() {
        #expect(EventHandler().splitsBatches)
        #expect(!RequestHandler().splitsBatches)
    }
}

@Suite("Event batches: turned off for an upgrade")
struct EventBatchSettingTests {
    @Test("A worker run with AGENTMGR_EVENT_BATCH_MAX=1 sends each event it emits as its own message")
    func batchesOff() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        _ = try env.demoQueue()
        let observer = try env.observerQueue()
        let worker = try WorkerProcess(executable: "demo-worker", environment: env.processEnvironment(["AGENTMGR_EVENT_BATCH_MAX": "1"]))
        try EventRecorder.record(demoTasks(30), topology: env.topology, pool: env.pool)  // this process: one batch
        _ = try OutboxRelay(amqpURL: env.amqpURL, databaseURL: env.databaseURL, pool: env.pool, logger: Logger(label: "relay")).drain()
        #expect(try eventually { try env.count("SELECT count(*) FROM demo_ledger") == 30 })
        #expect(try eventually { try env.count("SELECT count(*) FROM outbox") == 0 })
        #expect(worker.terminate() == 0)

        let connection = try AMQPConnection(url: env.amqpURL)
        defer { connection.close() }
        try connection.consume(queue: observer)
        var applied = 0
        var tasks: [Int] = []
        while let delivery = try connection.nextDelivery(timeout: .seconds(3)) {
            if delivery.routingKey == "demo.applied" {
                #expect(!EventBatch.isBatch(delivery))
                applied += 1
            } else {
                tasks.append(EventBatch.eventCount(delivery))
            }
            try connection.ack(delivery.deliveryTag)
        }
        #expect(applied == 30, "one message per demo.applied")
        #expect(tasks == [30], "the test's own 30 tasks went as one batch")
    }
}
