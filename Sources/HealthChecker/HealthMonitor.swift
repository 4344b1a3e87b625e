import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres

/// The health checker's loop: every `interval` it compares heartbeats and progress with the
/// thresholds and records each *change* it concludes (health_nodes, health_stalls,
/// health_workers) with its events, in one transaction per check:
/// - a node agent silent past `nodeLostAfterSeconds`: `node.lost` (the scheduler requeues the
///   node's jobs) and `alert.raised`; beating again: `node.recovered` and `alert.resolved`;
/// - a running run of a job's current attempt without progress past the stall timeout:
///   `job.stalled` (the scheduler requeues the job) and `alert.raised`;
/// - a worker replica silent past `workerSilentSeconds`: `alert.raised`; beating again: `alert.resolved`.
/// Several replicas may run: a change is recorded by whichever updates the row first, once.
public struct HealthMonitor: Sendable {
    public static let workerName = "health-checker"
    let settings: HealthSettings
    let pool: PostgresPool
    let topology: Topology
    let logger: Logger

    public init(settings: HealthSettings, pool: PostgresPool, topology: Topology, logger: Logger) {
        self.settings = settings
        self.pool = pool
        self.topology = topology
        self.logger = logger
    }

    public var task: BackgroundTask {
        BackgroundTask(name: "health") { stop in run(until: stop) }
    }

    func run(until stop: StopSignal) {
        while !stop.isRequested {
            for (name, check) in [("nodes", checkNodes), ("stalls", checkStalls), ("workers", checkWorkers)] as [(String, () throws -> Void)] {
                do { try check() } catch { logger.warning("health check failed", metadata: ["check": "\(name)", "error": "\(error)"]) }
            }
            stop.sleep(settings.interval)
        }
    }

    /// Nodes whose agent went silent are lost; lost nodes whose agent beats again recover. An
    /// agent that stopped cleanly (an operator's doing) does not make its node lost.
    public func checkNodes() throws {
        try pool.transaction { db in
            var events: [EventEnvelope] = []
            let lost = try db.query(
                """
                INSERT INTO health_nodes AS h (node_id, state, reason, changed_at)
                SELECT a.node_id, 'lost', 'no heartbeat for ' || round(extract(epoch FROM now() - a.heartbeat_at))::text || ' s', now()
                FROM node_agents a JOIN nodes n ON n.id = a.node_id
                WHERE a.stopped_at IS NULL AND a.heartbeat_at < now() - make_interval(secs => $1)
                ON CONFLICT (node_id) DO UPDATE SET state = 'lost', reason = EXCLUDED.reason, changed_at = now()
                    WHERE h.state <> 'lost'
                RETURNING node_id, reason
                """, [settings.nodeLostAfterSeconds])
            for row in lost {
                let node = try row.decode(0, as: String.self)
                let reason = try row.decode(1, as: String.self)
                logger.warning("node lost", metadata: ["node": "\(node)", "reason": "\(reason)"])
                events.append(event("node.lost", subjects: ["node": node], ["node": .string(node), "reason": .string(reason)]))
                events.append(alert("alert.raised", kind: "node_lost", subject: node, message: "node \(node) lost: \(reason)"))
            }
            let recovered = try db.query(
                """
                UPDATE health_nodes h SET state = 'ok', reason = NULL, changed_at = now()
                FROM node_agents a
                WHERE a.node_id = h.node_id AND h.state = 'lost' AND a.stopped_at IS NULL
                  AND a.heartbeat_at >= now() - make_interval(secs => $1)
                RETURNING h.node_id
                """, [settings.nodeLostAfterSeconds])
            for row in recovered {
                let node = try row.decode(0, as: String.self)
                logger.info("node recovered", metadata: ["node": "\(node)"])
                events.append(event("node.recovered", subjects: ["node": node], ["node": .string(node)]))
                events.append(alert("alert.resolved", kind: "node_lost", subject: node, message: "node \(node) beats again"))
            }
            try EventRecorder.append(events.map { ($0, nil) }, topology: topology, in: db)
        }
    }

    /// Runs of a job's current attempt, on a node not lost, that reported nothing for the stall
    /// timeout (the job's `retry.stall_timeout`, else the default): once per run.
    public func checkStalls() throws {
        try pool.transaction { db in
            try db.query(
                """
                DELETE FROM health_stalls s USING sched_jobs j
                WHERE j.job_id = s.job_id AND (j.state = 'finished' OR j.attempt > s.attempt)
                """)
            let stalled = try db.query(
                """
                INSERT INTO health_stalls (run_id, job_id, attempt)
                SELECT r.run_id, r.job_id, r.attempt FROM runs r
                JOIN sched_jobs j ON j.job_id = r.job_id AND j.attempt = r.attempt AND j.state = 'scheduled'
                WHERE r.state = 'running'
                  AND r.progress_at < now() - make_interval(secs => coalesce((j.retry->>'stall_timeout_seconds')::float8, $1))
                  AND NOT EXISTS (SELECT 1 FROM health_nodes h WHERE h.node_id = r.node_id AND h.state = 'lost')
                ON CONFLICT (run_id) DO NOTHING
                RETURNING run_id, job_id, attempt,
                          (SELECT node_id FROM runs WHERE run_id = health_stalls.run_id),
                          (SELECT tenant FROM sched_jobs WHERE job_id = health_stalls.job_id),
                          (SELECT coalesce((retry->>'stall_timeout_seconds')::int, $1::int) FROM sched_jobs
                           WHERE job_id = health_stalls.job_id)
                """, [settings.stallTimeoutSeconds])
            var events: [EventEnvelope] = []
            for row in stalled {
                let run = try row.decode(0, as: UUID.self).uuidString.lowercased()
                let job = try row.decode(1, as: UUID.self).uuidString.lowercased()
                let node = try row.decode(3, as: String.self)
                let reason = "no progress for \(try row.decode(5, as: Int.self)) s"
                logger.warning("run stalled", metadata: ["run_id": "\(run)", "job_id": "\(job)", "node": "\(node)"])
                var stall = event(
                    "job.stalled", subjects: ["job": job, "run": run, "node": node],
                    [
                        "job_id": .string(job), "run_id": .string(run), "attempt": .number(Double(try row.decode(2, as: Int.self))),
                        "node": .string(node), "reason": .string(reason),
                    ])
                stall.tenant = try row.decodeIfPresent(4, as: String.self)
                events.append(stall)
                events.append(alert("alert.raised", kind: "run_stalled", subject: run, message: "run \(run) of job \(job) on \(node): \(reason)"))
            }
            try EventRecorder.append(events.map { ($0, nil) }, topology: topology, in: db)
        }
    }

    /// Worker replicas that stopped beating without a clean stop raise an alert; it resolves when they beat again.
    public func checkWorkers() throws {
        try pool.transaction { db in
            var events: [EventEnvelope] = []
            let silent = try db.query(
                """
                INSERT INTO health_workers AS h (worker, instance, state)
                SELECT worker, instance, 'silent' FROM worker_heartbeats
                WHERE stopped_at IS NULL AND heartbeat_at < now() - make_interval(secs => $1)
                ON CONFLICT (worker, instance) DO UPDATE SET state = 'silent', changed_at = now() WHERE h.state <> 'silent'
                RETURNING worker, instance
                """, [settings.workerSilentSeconds])
            for row in silent {
                let subject = "\(try row.decode(0, as: String.self))/\(try row.decode(1, as: UUID.self).uuidString.lowercased())"
                events.append(alert("alert.raised", kind: "worker_silent", subject: subject, message: "worker replica \(subject) stopped beating"))
            }
            let back = try db.query(
                """
                UPDATE health_workers h SET state = 'ok', changed_at = now() FROM worker_heartbeats w
                WHERE w.worker = h.worker AND w.instance = h.instance AND h.state = 'silent'
                  AND (w.stopped_at IS NOT NULL OR w.heartbeat_at >= now() - make_interval(secs => $1))
                RETURNING h.worker, h.instance
                """, [settings.workerSilentSeconds])
            for row in back {
                let subject = "\(try row.decode(0, as: String.self))/\(try row.decode(1, as: UUID.self).uuidString.lowercased())"
                events.append(alert("alert.resolved", kind: "worker_silent", subject: subject, message: "worker replica \(subject) beats again"))
            }
            try EventRecorder.append(events.map { ($0, nil) }, topology: topology, in: db)
        }
    }

    private func event(_ type: String, subjects: [String: String], _ payload: [String: JSONValue]) -> EventEnvelope {
        EventEnvelope(type: type, producer: Self.workerName, subjects: subjects, payload: .object(payload))
    }

    private func alert(_ type: String, kind: String, subject: String, message: String) -> EventEnvelope {
        event(type, subjects: ["alert": kind], ["kind": .string(kind), "subject": .string(subject), "message": .string(message)])
    }
}
