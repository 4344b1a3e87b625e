import Admission
import AgentCore
import AgentTestSupport
import Foundation
import HealthChecker
import Logging
import Testing

/// The example agent as these tests run it: 10,000 steps, a checkpoint every 2,000, paced (a
/// progress line every 0.25 s, about 5 s in all) so that a test can act while it runs.
enum GridworldJobs {
    static let train = RunLifecycleTests.repository.appendingPathComponent("examples/agents/gridworld/train.py").path
    static let arguments = "--steps 10000 --checkpoint-every 2000 --report-every 500"

    /// Tenant acme gets cpu quota and the agent `gridworld@1.0`, `cpu` cores per replica.
    static func register(_ world: AdmissionWorld, cpu: Int = 12) throws {
        try world.registry.setQuota(tenant: "acme", flavor: "cpu", nominal: 64)
        try world.registry.registerVersion(
            tenant: "acme", agent: "gridworld", version: "1.0", image: nil, command: "python3 \(train) \(arguments) --report-delay 0.25",
            framework: .custom, defaults: ResourceOverrides(flavor: "cpu", gpus: 0, cpu: cpu, memoryGiB: 8), checkpoints: true)
    }

    /// Submits a `gridworld@1.0` job with `key` as its idempotency key and any other spec fields.
    static func submit(_ world: AdmissionWorld, key: String, fields: [String: Any] = [:], priority: PriorityClass = .normal) throws {
        let body = AdmissionWorld.body(
            ["tenant": "acme", "agent": "gridworld@1.0", "max_runtime": "10m", "idempotency_key": key].merging(fields) { $1 })
        try world.client().publish([SubmissionClient.Request(body: body, idempotencyKey: key, priority: priority)], withReplies: false)
    }

    /// A health checker in this process that calls a node lost after 2 s without beats (agents
    /// beating every 0.5 s: give them `fastBeat`); runs stall after the default 600 s unless their
    /// job says otherwise (`retry.stall_timeout`).
    static func healthChecker(_ env: RuntimeTestEnvironment) -> BackgroundLoop {
        let monitor = HealthMonitor(
            settings: HealthSettings(heartbeatSeconds: 0.5, lostAfterMissed: 4, interval: .milliseconds(300)),
            pool: env.pool, topology: env.topology, logger: Logger(label: "health"))
        return BackgroundLoop { monitor.task.run($0) }
    }

    static let fastBeat = ["AGENTMGR_HEARTBEAT_SECONDS": "0.5"]

    /// The example agent's result metrics with the same settings, run straight through here.
    static func uninterruptedResult() throws -> JSONValue {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gridworld-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "python3 \(train) \(arguments)"]
        process.environment = ProcessInfo.processInfo.environment.merging(["CHECKPOINT_DIR": directory]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let line = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n").last { $0.contains(#""kind":"result""#) })
        return try #require(try JSONValue.parse(Data(line.dropFirst("@agentmgr ".count).utf8))["metrics"])
    }
}
