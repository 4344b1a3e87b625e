import Foundation
import Logging
import Postgres

/// Every worker replica stamps `worker_heartbeats` (its name, an instance id, host, pid) every
/// few seconds and records its clean stop; the health checker raises an alert for a replica that
/// goes silent, and `agentctl health` lists them. Runs beside the consumers of every worker.
struct WorkerHeartbeat {
    let worker: String
    let pool: PostgresPool
    let interval: Duration
    let logger: Logger
    let instance = UUID()

    var task: BackgroundTask {
        BackgroundTask(name: "worker-heartbeat") { stop in run(until: stop) }
    }

    func run(until stop: StopSignal) {
        var registered = false
        while !stop.isRequested {
            do {
                try pool.withConnection { db in
                    if registered {
                        try db.query(
                            "UPDATE worker_heartbeats SET heartbeat_at = now() WHERE worker = $1 AND instance = $2", [worker, instance])
                    } else {
                        // An upsert: a commit whose reply was lost must not make every later beat fail.
                        try db.query(
                            """
                            INSERT INTO worker_heartbeats (worker, instance, host, pid) VALUES ($1, $2, $3, $4)
                            ON CONFLICT (worker, instance) DO UPDATE SET heartbeat_at = now()
                            """, [worker, instance, HostName.current, Int(getpid())])
                        registered = true
                    }
                }
            } catch {
                logger.warning("worker heartbeat failed", metadata: ["error": "\(error)"])
            }
            stop.sleep(interval)
        }
        guard registered else { return }
        do {
            try pool.withConnection {
                try $0.query("UPDATE worker_heartbeats SET stopped_at = now() WHERE worker = $1 AND instance = $2", [worker, instance])
            }
        } catch {
            logger.warning("could not record the worker's stop", metadata: ["error": "\(error)"])
        }
    }
}
