import AMQP
import AgentCore
import AgentRuntime
import Foundation

/// The handler of `demo-worker`: applies `demo.task` events to a ledger it owns and emits
/// `demo.applied`. It exists to show the consumer runtime working end to end (and to test it):
/// applying a task twice would break `sum(demo_ledger.amount) = demo_balances.balance`.
public struct DemoLedgerHandler: MessageHandler {
    public static let workerName = "demo-worker"
    public static let inputQueue = InputQueue(name: "", bindings: ["demo.task"])

    /// Slows each message down, so tests can kill the worker while a handler runs.
    let delay: Duration

    public init(delay: Duration = .zero) {
        self.delay = delay
    }

    public struct Task: Codable, Sendable, Equatable {
        public var account: String
        public var amount: Int
        public init(account: String, amount: Int) {
            self.account = account
            self.amount = amount
        }
    }

    public struct Message: Sendable {
        let event: EventEnvelope
        let task: Task
    }

    public func decode(_ delivery: AMQPDelivery) throws -> Message {
        let event = try EventEnvelope.decode(from: delivery.body)
        guard event.type == "demo.task" else { throw MalformedMessage("type must be demo.task, got \(event.type)") }
        let task: Task
        do {
            task = try event.payload.decode(Task.self)
        } catch {
            throw MalformedMessage("payload must be {\"account\": string, \"amount\": integer}")
        }
        guard !task.account.isEmpty else { throw MalformedMessage("payload.account must not be empty") }
        return Message(event: event, task: task)
    }

    public func messageID(of message: Message, delivery: AMQPDelivery) -> String? {
        message.event.id.uuidString.lowercased()
    }

    /// Its input is events: batches are split into them.
    public var splitsBatches: Bool { true }

    /// Tasks of one account update one balance row.
    public func lockKey(of message: Message) -> String? {
        message.task.account
    }

    public func handle(_ message: Message, context: HandlerContext) throws {
        if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds)) }
        let task = message.task
        if task.account == "frozen" {
            throw DemoError(reason: "account frozen refuses every task")
        }
        try context.db.query(
            "INSERT INTO demo_ledger (task_id, account, amount) VALUES ($1, $2, $3)",
            [message.event.id, task.account, task.amount])
        let balance = try context.db.query(
            """
            INSERT INTO demo_balances (account, balance, applied_tasks) VALUES ($1, $2, 1)
            ON CONFLICT (account) DO UPDATE
                SET balance = demo_balances.balance + EXCLUDED.balance, applied_tasks = demo_balances.applied_tasks + 1
            RETURNING balance
            """, [task.account, task.amount])[0].decode(0, as: Int.self)
        try context.emit(
            message.event.consequence(
                type: "demo.applied", producer: Self.workerName,
                payload: .object(["account": .string(task.account), "amount": .number(Double(task.amount)), "balance": .number(Double(balance))])))
    }
}

public struct DemoError: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}
