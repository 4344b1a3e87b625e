import AgentCore
import Foundation
import Postgres

/// One admission decision as `agentctl jobs` shows it.
public struct JobSummary: Sendable, Encodable {
    public var idempotencyKey: String
    public var decision: String
    public var jobID: String?
    public var tenant: String?
    public var agent: String?
    public var priorityClass: String?
    public var replicas: Int?
    public var resources: Resources?
    public var maxRuntimeSeconds: Int?
    public var projectedCost: String?
    public var state: String
    public var reasons: [Rejection]
    public var decidedAt: Date
    public var submittedAt: Date?

    enum CodingKeys: String, CodingKey {
        case decision, tenant, agent, replicas, resources, state, reasons
        case idempotencyKey = "idempotency_key"
        case jobID = "job_id"
        case priorityClass = "priority_class"
        case maxRuntimeSeconds = "max_runtime_seconds"
        case projectedCost = "projected_cost"
        case decidedAt = "decided_at"
        case submittedAt = "submitted_at"
    }
}

/// Read-only queries over admission's decisions and jobs.
public enum JobQueries {
    private static let select = """
        SELECT r.idempotency_key, r.decision, r.job_id::text, r.tenant,
               j.agent || '@' || j.agent_version, coalesce(j.priority_class, r.priority_class), j.replicas, j.flavor, j.gpus,
               j.cpu, j.memory_gib, j.max_runtime_seconds, r.projected_cost, coalesce(s.state, j.state, r.decision), r.reasons::text,
               r.decided_at, j.submitted_at
        FROM admission_requests r LEFT JOIN jobs j ON j.id = r.job_id
        LEFT JOIN sched_jobs s ON s.job_id = r.job_id
        """  // sched_jobs: the scheduler's view of the job, read only. (No SQL comment here: callers append WHERE on the last line.)

    /// Most recent decisions first... returned oldest first for reading.
    public static func list(tenant: String?, decision: String?, limit: Int, in db: PostgresConnection) throws -> [JobSummary] {
        try db.query(
            """
            SELECT * FROM (\(select)
                WHERE ($1::text IS NULL OR r.tenant = $1) AND ($2::text IS NULL OR r.decision = $2)
                ORDER BY r.decided_at DESC, r.idempotency_key LIMIT $3) recent
            ORDER BY decided_at, idempotency_key
            """, [tenant, decision, limit]
        ).map(summary)
    }

    /// By job id or idempotency key.
    public static func find(_ reference: String, in db: PostgresConnection) throws -> JobSummary? {
        let rows = try db.query(
            "\(select) WHERE r.idempotency_key = $1 OR r.job_id::text = lower($1) LIMIT 1", [reference])
        return try rows.first.map(summary)
    }

    private static func summary(_ row: PostgresRow) throws -> JobSummary {
        var resources: Resources?
        if let flavor = try row.decodeIfPresent(7, as: String.self) {
            resources = Resources(flavor: flavor, gpus: try row.decode(8), cpu: try row.decode(9), memoryGiB: try row.decode(10))
        }
        return JobSummary(
            idempotencyKey: try row.decode(0), decision: try row.decode(1), jobID: try row.decodeIfPresent(2, as: String.self),
            tenant: try row.decodeIfPresent(3, as: String.self), agent: try row.decodeIfPresent(4, as: String.self),
            priorityClass: try row.decodeIfPresent(5, as: String.self), replicas: try row.decodeIfPresent(6, as: Int.self),
            resources: resources, maxRuntimeSeconds: try row.decodeIfPresent(11, as: Int.self),
            projectedCost: try row.decodeIfPresent(12, as: Decimal.self)?.moneyText, state: try row.decode(13),
            reasons: try JSONCoding.decoder.decode([Rejection].self, from: Data(try row.decode(14, as: String.self).utf8)),
            decidedAt: try row.decode(15), submittedAt: try row.decodeIfPresent(16, as: Date.self))
    }
}
