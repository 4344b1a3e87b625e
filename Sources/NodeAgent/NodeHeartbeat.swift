import AgentCore
import AgentRuntime
import Foundation
import Logging
import Postgres

/// Registers this agent's node and keeps its heartbeat: at start it takes over the node's row in
/// `node_agents` (a new instance id) and, when it has a capacity, emits `node.registered` for the
/// scheduler in the same transaction; then every `heartbeatInterval` it stamps `heartbeat_at` and
/// how many runs it has running. If another agent took the node over since, it says so loudly
/// (two agents must not run one node's work; fencing is the health checker's). Every
/// `usageInterval` it also reports its running runs (`node.usage`): the cost accountant meters a
/// run up to the last report that saw it, should its end never be heard of.
public final class NodeHeartbeat: Sendable {
    let settings: NodeAgentSettings
    let pool: PostgresPool
    let topology: Topology
    let logger: Logger
    let backend: String
    public let instance = UUID()

    public init(settings: NodeAgentSettings, pool: PostgresPool, topology: Topology, backend: String = "local", logger: Logger) {
        self.settings = settings
        self.pool = pool
        self.topology = topology
        self.backend = backend
        self.logger = logger
    }

    public var task: BackgroundTask {
        BackgroundTask(name: "heartbeat") { [self] stop in run(until: stop) }
    }

    func run(until stop: StopSignal) {
        while !stop.isRequested {
            do {
                try register()
                break
            } catch {
                logger.error("could not register the node; retrying", metadata: ["error": "\(error)"])
                stop.sleep(.seconds(1))
            }
        }
        // One loop for both cadences: it wakes for whichever is due first.
        var nextBeat = ContinuousClock.now + settings.heartbeatInterval
        var nextUsage = ContinuousClock.now + settings.usageInterval
        while !stop.isRequested {
            stop.sleep(max(.zero, min(nextBeat, nextUsage) - .now))
            guard !stop.isRequested else { break }
            if ContinuousClock.now >= nextBeat {
                nextBeat = .now + settings.heartbeatInterval
                do { try beat() } catch { logger.warning("heartbeat failed", metadata: ["error": "\(error)"]) }
            }
            if ContinuousClock.now >= nextUsage {
                nextUsage = .now + settings.usageInterval
                do { try reportUsage() } catch { logger.warning("usage report failed", metadata: ["error": "\(error)"]) }
            }
        }
        do {
            try pool.withConnection {
                try $0.query("UPDATE node_agents SET stopped_at = now() WHERE node_id = $1 AND instance = $2", [settings.nodeID, instance])
            }
        } catch { logger.warning("could not record the agent's stop", metadata: ["error": "\(error)"]) }
    }

    func register() throws {
        let capacity = settings.capacity.map { String(decoding: $0.payload(node: settings.nodeID).serialized(), as: UTF8.self) }
        try pool.transaction { db in
            try db.query(
                """
                INSERT INTO node_agents (node_id, instance, host, pid, backend, capacity)
                VALUES ($1, $2, $3, $4, $5, $6::jsonb)
                ON CONFLICT (node_id) DO UPDATE SET instance = EXCLUDED.instance, host = EXCLUDED.host, pid = EXCLUDED.pid,
                    backend = EXCLUDED.backend, capacity = EXCLUDED.capacity, started_at = now(), heartbeat_at = now(),
                    running_runs = 0, stopped_at = NULL
                """, [settings.nodeID, instance, HostName.current, Int(getpid()), backend, capacity])
            guard let capacity = settings.capacity else { return }
            let event = EventEnvelope(
                type: "node.registered", producer: PlacementHandler.workerName, subjects: ["node": settings.nodeID],
                payload: capacity.payload(node: settings.nodeID))
            try EventRecorder.append([(event, nil)], topology: topology, in: db)
        }
        logger.info(
            "node agent registered",
            metadata: [
                "instance": "\(instance)", "capacity": "\(settings.capacity.map { "\($0.pool)/\($0.flavor) \($0.gpus) GPU \($0.cpu) cores" } ?? "none (operator-added node)")",
            ])
    }

    func beat() throws {
        let updated = try pool.withConnection { db in
            try db.query(
                """
                UPDATE node_agents SET heartbeat_at = now(),
                    running_runs = (SELECT count(*) FROM runs WHERE node_id = $1 AND state = 'running')
                WHERE node_id = $1 AND instance = $2
                """, [settings.nodeID, instance]
            ).rowsAffected
        }
        if updated == 0 {
            logger.error(
                "another node agent took over this node; this one should stop", metadata: ["node": "\(settings.nodeID)", "instance": "\(instance)"])
        }
    }

    /// `node.usage`: the runs running here now, with their start (nothing when none runs).
    func reportUsage() throws {
        try pool.transaction { db in
            let runs = try RunStore.runningUsage(node: settings.nodeID, in: db)
            guard !runs.isEmpty else { return }
            let event = EventEnvelope(
                type: "node.usage", producer: PlacementHandler.workerName, subjects: ["node": settings.nodeID],
                payload: [
                    "node": .string(settings.nodeID),
                    "runs": .array(
                        runs.map {
                            .object([
                                "run_id": .string($0.runID.uuidString.lowercased()), "job_id": .string($0.jobID.uuidString.lowercased()),
                                "started_at": .string(ISO8601.string(from: $0.startedAt)),
                            ])
                        }),
                ])
            try EventRecorder.append([(event, nil)], topology: topology, in: db)
        }
    }
}
