import AgentCore
import Foundation
import Postgres
import Scheduling

/// `job.scheduled` and `job.pending`: the scheduler's decisions, as events of record.
enum SchedulingEvents {
    static func scheduled(_ job: PendingJob, _ placement: Placement, attempt: Int, epoch: Int64, producer: String) -> EventEnvelope {
        EventEnvelope(
            type: "job.scheduled", producer: producer, tenant: job.tenant, subjects: ["job": job.id.lowercaseText],
            correlationID: job.id,
            payload: [
                "job_id": .string(job.id.lowercaseText),
                "nodes": .array(placement.nodes.map(JSONValue.string)),
                "replicas": .number(Double(job.replicas)),
                "flavor": .string(job.flavor),
                "per_replica": ["gpus": .number(Double(job.perReplica.gpus)), "cpu": .number(Double(job.perReplica.cpu)),
                                "memory_gib": .number(Double(job.perReplica.memoryGiB))],
                "borrowed_units": .number(Double(placement.borrowedUnits)),
                "backfilled": .bool(placement.backfilled),
                "epoch": .number(Double(epoch)),
                "attempt": .number(Double(attempt)),
            ])
    }

    static func pending(_ job: PendingJob, _ status: PendingStatus, producer: String) -> EventEnvelope {
        EventEnvelope(
            type: "job.pending", producer: producer, tenant: job.tenant, subjects: ["job": job.id.lowercaseText],
            correlationID: job.id,
            payload: [
                "job_id": .string(job.id.lowercaseText),
                "code": .string(status.reason.code.rawValue),
                "message": .string(status.reason.message),
                "details": .object(status.reason.details.mapValues { .number(Double($0)) }),
                "queue_position": .number(Double(status.queuePosition)),
                "effective_class": .string(status.effectiveClass.name),
            ])
    }
}
