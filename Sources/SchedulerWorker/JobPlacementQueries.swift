import AgentCore
import Foundation
import Postgres

/// Where a job stands with the scheduler: placed (on which nodes) or waiting (why, and where in line).
public struct JobPlacementStatus: Sendable, Encodable {
    public var jobID: String
    public var tenant: String
    public var priorityClass: String
    public var effectiveClass: String?
    public var state: String
    public var reasonCode: String?
    public var reason: String?
    public var details: [String: Int]?
    public var queuePosition: Int?
    public var nodes: [String]
    public var borrowedUnits: Int
    public var backfilled: Bool
    public var scheduledAt: Date?

    enum CodingKeys: String, CodingKey {
        case tenant, state, reason, details, nodes, backfilled
        case jobID = "job_id"
        case priorityClass = "priority_class"
        case effectiveClass = "effective_class"
        case reasonCode = "reason_code"
        case queuePosition = "queue_position"
        case borrowedUnits = "borrowed_units"
        case scheduledAt = "scheduled_at"
    }
}

public enum JobPlacementQueries {
    public static func status(of jobID: UUID, in db: PostgresConnection) throws -> JobPlacementStatus? {
        let rows = try db.query(
            """
            SELECT j.job_id::text, j.tenant, j.priority_class, j.effective_class, j.state, j.reason_code, j.reason_message,
                   j.reason_details::text, j.queue_position,
                   coalesce((SELECT array_agg(node_id ORDER BY replica) FROM allocations a WHERE a.job_id = j.job_id), '{}')::text[],
                   j.borrowed_units, j.backfilled, j.scheduled_at
            FROM sched_jobs j WHERE j.job_id = $1
            """, [jobID])
        guard let row = rows.first else { return nil }
        let details = try row.decodeIfPresent(7, as: String.self).flatMap { try JSONCoding.decoder.decode([String: Int].self, from: Data($0.utf8)) }
        return JobPlacementStatus(
            jobID: try row.decode(0), tenant: try row.decode(1), priorityClass: try row.decode(2),
            effectiveClass: try row.decodeIfPresent(3, as: String.self), state: try row.decode(4),
            reasonCode: try row.decodeIfPresent(5, as: String.self), reason: try row.decodeIfPresent(6, as: String.self), details: details,
            queuePosition: try row.decodeIfPresent(8, as: Int.self), nodes: try row.decode(9), borrowedUnits: try row.decode(10),
            backfilled: try row.decode(11), scheduledAt: try row.decodeIfPresent(12, as: Date.self))
    }
}
