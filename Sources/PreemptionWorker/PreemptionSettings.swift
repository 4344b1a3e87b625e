import Foundation
import Preemption

/// `AGENTMGR_PREEMPTION_MIN_RUNTIME`: how long a job of each class must have run before it may be
/// preempted, as `class=seconds` pairs (`batch=0,low=60,normal=300`; classes not named: 0), and
/// `AGENTMGR_PREEMPTION_INTERVAL_SECONDS` (default 2): how often waiting jobs are looked at again.
public struct PreemptionSettings: Sendable, Equatable {
    public var minimumRuntimeSeconds: [PriorityClass: Double]
    public var interval: Duration

    public init(minimumRuntimeSeconds: [PriorityClass: Double] = [:], interval: Duration = .seconds(2)) {
        self.minimumRuntimeSeconds = minimumRuntimeSeconds
        self.interval = interval
    }

    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PreemptionSettings {
        var settings = PreemptionSettings()
        if let text = environment["AGENTMGR_PREEMPTION_MIN_RUNTIME"], !text.isEmpty {
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let priority = PriorityClass(name: parts[0]), let seconds = Double(parts[1]), seconds >= 0 else {
                    throw PreemptionSettingsError(
                        "AGENTMGR_PREEMPTION_MIN_RUNTIME: \"\(pair)\" is not class=seconds (classes: critical, high, normal, low, batch)")
                }
                settings.minimumRuntimeSeconds[priority] = seconds
            }
        }
        if let text = environment["AGENTMGR_PREEMPTION_INTERVAL_SECONDS"], !text.isEmpty {
            guard let seconds = Double(text), seconds >= 0.1, seconds <= 600 else {
                throw PreemptionSettingsError("AGENTMGR_PREEMPTION_INTERVAL_SECONDS must be from 0.1 to 600, got \(text)")
            }
            settings.interval = .milliseconds(Int(seconds * 1000))
        }
        return settings
    }
}

public struct PreemptionSettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
