import Foundation

/// The health checker's thresholds, from the environment:
/// `AGENTMGR_HEARTBEAT_SECONDS` (the node agents' beat, default 5) × `AGENTMGR_LOST_AFTER_MISSED`
/// (default 3) without a beat: the node is lost; `AGENTMGR_STALL_TIMEOUT_SECONDS` (default 600)
/// without progress: a run is stalled; `AGENTMGR_WORKER_SILENT_SECONDS` (default 20) without a
/// worker replica's beat: an alert; `AGENTMGR_HEALTH_INTERVAL_SECONDS` (default 2): how often it looks.
public struct HealthSettings: Sendable, Equatable {
    public var heartbeatSeconds: Double
    public var lostAfterMissed: Int
    public var stallTimeoutSeconds: Double
    public var workerSilentSeconds: Double
    public var interval: Duration

    public init(
        heartbeatSeconds: Double = 5, lostAfterMissed: Int = 3, stallTimeoutSeconds: Double = 600, workerSilentSeconds: Double = 20,
        interval: Duration = .seconds(2)
    ) {
        self.heartbeatSeconds = heartbeatSeconds
        self.lostAfterMissed = lostAfterMissed
        self.stallTimeoutSeconds = stallTimeoutSeconds
        self.workerSilentSeconds = workerSilentSeconds
        self.interval = interval
    }

    /// How long a node agent may be silent before its node is lost.
    public var nodeLostAfterSeconds: Double { heartbeatSeconds * Double(lostAfterMissed) }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> HealthSettings {
        func number(_ name: String, _ fallback: Double, _ range: ClosedRange<Double>) throws -> Double {
            guard let raw = environment[name], !raw.isEmpty else { return fallback }
            guard let value = Double(raw), range.contains(value) else {
                throw HealthSettingsError("\(name) must be a number from \(range.lowerBound) to \(range.upperBound), got \(raw)")
            }
            return value
        }
        return HealthSettings(
            heartbeatSeconds: try number("AGENTMGR_HEARTBEAT_SECONDS", 5, 0.1...300),
            lostAfterMissed: Int(try number("AGENTMGR_LOST_AFTER_MISSED", 3, 1...100)),
            stallTimeoutSeconds: try number("AGENTMGR_STALL_TIMEOUT_SECONDS", 600, 1...604_800),
            workerSilentSeconds: try number("AGENTMGR_WORKER_SILENT_SECONDS", 20, 1...3600),
            interval: .milliseconds(Int(try number("AGENTMGR_HEALTH_INTERVAL_SECONDS", 2, 0.1...60) * 1000)))
    }
}

public struct HealthSettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
