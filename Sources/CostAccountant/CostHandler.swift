import AMQP
import AgentCore
import AgentRuntime
import Foundation
import Postgres

/// The cost accountant's consumer: meters runs from their start, the node agents' usage
/// heartbeats and their end into the ledger (`CostLedger`), releases jobs' reservations as metered
/// cost replaces them, and checks the budgets of the tenants whose spending moved (`BudgetWatch`),
/// all in the batch's transaction.
public struct CostHandler: MessageHandler {
    public static let workerName = "cost-accountant"

    public init() {}

    public static func inputQueue(_ topology: Topology) -> InputQueue {
        InputQueue(name: topology.queueName(workerName), bindings: CostReport.eventTypes, type: .quorum)
    }

    public func handle(_ event: EventEnvelope, context: HandlerContext) throws {
        try handleBatch([event], context: context)
    }

    /// A run's charges are recomputed from all its reports and written as values (`CostLedger`),
    /// so a report applied twice changes nothing: the ledger is its own deduplication record and
    /// the inbox row each report would cost is saved. A budget change is checked (and may announce
    /// a state) through the inbox as before.
    public func needsInbox(_ event: EventEnvelope) -> Bool {
        event.type == "tenant.budget_set"
    }

    public func handleBatch(_ events: [EventEnvelope], context: HandlerContext) throws {
        var reports: [CostReport] = []
        for (index, event) in events.enumerated() {
            do { reports += try CostReport.parse(event) } catch { throw MessageFailure(index: index, error: error) }
        }
        guard !reports.isEmpty else { return }
        let now = Date()
        let tenants = try CostLedger.apply(reports, now: now, in: context.db)
        for event in try BudgetWatch.check(tenants, now: now, producer: Self.workerName, in: context.db) {
            try context.emit(event)
        }
    }
}
