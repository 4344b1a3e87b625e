import AMQP
import AgentCore
import AgentTestSupport
import Foundation
import Logging
import Testing

@testable import AgentRuntime

/// `MessageHandler.needsInbox`: a message whose handler keeps its own deduplication record skips
/// the inbox; every other message is still recorded and applied once.
@Suite("Inbox: messages a handler deduplicates itself")
struct InboxOptOutTests {
    /// Counts each application in `demo_balances.applied_tasks` (an increment, so applying a task
    /// twice shows) and says that tasks of accounts named `self-*` need no inbox: what a real
    /// handler says only of messages whose effect is idempotent.
    struct CountingHandler: MessageHandler {
        func handle(_ event: EventEnvelope, context: HandlerContext) throws {
            try context.db.query(
                """
                INSERT INTO demo_balances (account, balance, applied_tasks) VALUES ($1, 0, 1)
                ON CONFLICT (account) DO UPDATE SET applied_tasks = demo_balances.applied_tasks + 1
                """, [Self.account(event)])
        }
        func needsInbox(_ event: EventEnvelope) -> Bool { !Self.account(event).hasPrefix("self-") }
        static func account(_ event: EventEnvelope) -> String {
            guard case .string(let account)? = event.payload["account"] else { return "" }
            return account
        }
    }

    @Test("A redelivered message that needs no inbox is applied again and leaves no inbox row; one that does is skipped")
    func optOut() throws {
        let env = try RuntimeTestEnvironment()
        defer { env.close() }
        let queue = try env.demoQueue()
        let loop = ConsumerLoop(
            settings: .init(consumerName: "demo-worker", queue: queue), handler: CountingHandler(),
            amqpURL: env.amqpURL, pool: env.pool, topology: env.topology, logger: Logger(label: "test"))
        let running = BackgroundLoop { loop.run(until: $0) }
        defer { _ = running.stopAndJoin() }

        let tasks = demoTasks(2, accounts: ["self-kept", "recorded"])
        let publisher = try AMQPConnection(url: env.amqpURL)
        defer { publisher.close() }
        try publisher.enableConfirms()
        for _ in 0..<2 {  // each task twice, as a redelivery would bring it
            try publisher.publish(
                tasks.map {
                    AMQPOutgoingMessage(
                        exchange: env.topology.eventsExchange, routingKey: "demo.task",
                        properties: AMQPProperties(messageID: $0.id.uuidString.lowercased()), body: try! $0.encoded())
                })
            #expect(try eventually { try env.count("SELECT coalesce(sum(applied_tasks), 0) FROM demo_balances") >= 1 })
        }
        #expect(try eventually { try env.count("SELECT applied_tasks FROM demo_balances WHERE account = 'self-kept'") == 2 }, "applied at each delivery")
        #expect(try env.count("SELECT applied_tasks FROM demo_balances WHERE account = 'recorded'") == 1, "the inbox skipped the copy")
        #expect(try env.count("SELECT count(*) FROM inbox WHERE message_id = $1", [tasks[0].id.uuidString.lowercased()]) == 0)
        #expect(try env.count("SELECT count(*) FROM inbox WHERE message_id = $1", [tasks[1].id.uuidString.lowercased()]) == 1)
    }
}
