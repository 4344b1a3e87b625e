import AgentCore
import Foundation

/// The decision sent to `reply_to` (see docs/amqp-contract.md). A repeated request with the same
/// idempotency key gets the first decision again, with `duplicate: true`.
public struct AdmissionReply: Sendable, Equatable, Codable {
    public enum Decision: String, Sendable, Codable {
        case admitted, rejected
    }

    public var idempotencyKey: String
    public var decision: Decision
    public var jobID: String?
    public var tenant: String?
    public var priorityClass: String?
    public var projectedCost: String?
    public var reasons: [Rejection]
    public var duplicate: Bool
    public var decidedAt: Date

    public init(
        idempotencyKey: String, decision: Decision, jobID: String? = nil, tenant: String? = nil, priorityClass: String? = nil,
        projectedCost: String? = nil, reasons: [Rejection] = [], duplicate: Bool = false, decidedAt: Date = Date()
    ) {
        self.idempotencyKey = idempotencyKey
        self.decision = decision
        self.jobID = jobID
        self.tenant = tenant
        self.priorityClass = priorityClass
        self.projectedCost = projectedCost
        self.reasons = reasons
        self.duplicate = duplicate
        self.decidedAt = decidedAt
    }

    enum CodingKeys: String, CodingKey {
        case decision, tenant, reasons, duplicate
        case idempotencyKey = "idempotency_key"
        case jobID = "job_id"
        case priorityClass = "priority_class"
        case projectedCost = "projected_cost"
        case decidedAt = "decided_at"
    }
}
