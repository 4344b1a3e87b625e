import AgentCore
import Foundation

/// One pod of a Job: which rank (completion index) it runs, where, and how its container ended.
public struct KubernetesPod: Sendable, Equatable {
    public var name: String
    /// The completion index (the rank) for an Indexed Job; 0 for a single-replica Job.
    public var completionIndex: Int
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    public var phase: String
    public var nodeName: String?
    /// The container's exit status once it terminated.
    public var exitCode: Int?
    /// The signal that ended it: exit codes above 128 are 128 + the signal (137: SIGKILL).
    public var signal: Int?
    /// Why it is waiting or ended: `ImagePullBackOff`, `ErrImagePull`, `OOMKilled`, `Error`,
    /// `Completed`, or the pod's own (`DeadlineExceeded`, `Evicted`).
    public var reason: String?
    public var message: String?
    public var createdAt: Date?
    /// Being deleted (a stopped Job's pod ending).
    public var deleting: Bool

    public var terminated: Bool { exitCode != nil }

    init(pod: JSONValue) {
        let metadata = pod["metadata"] ?? .object([:])
        let status = pod["status"] ?? .object([:])
        name = metadata["name"].flatMap(\.text) ?? ""
        completionIndex = metadata["annotations"]?[JobManifest.completionIndexAnnotation].flatMap(\.text).flatMap { Int($0) } ?? 0
        phase = status["phase"].flatMap(\.text) ?? "Unknown"
        nodeName = pod["spec"]?["nodeName"].flatMap(\.text)
        createdAt = metadata["creationTimestamp"].flatMap(\.text).flatMap(ISO8601.date(from:))
        deleting = metadata["deletionTimestamp"] != nil
        reason = status["reason"].flatMap(\.text)
        message = status["message"].flatMap(\.text)
        guard case .array(let containers)? = status["containerStatuses"],
            let container = containers.first(where: { $0["name"] == .string(JobManifest.containerName) }) ?? containers.first
        else { return }
        if let terminated = container["state"]?["terminated"] {
            exitCode = terminated["exitCode"]?.integerValue
            if let code = exitCode, code > 128 { signal = code - 128 }
            reason = terminated["reason"].flatMap(\.text) ?? reason
            message = terminated["message"].flatMap(\.text) ?? message
        } else if let waiting = container["state"]?["waiting"] {
            reason = waiting["reason"].flatMap(\.text) ?? reason
            message = waiting["message"].flatMap(\.text) ?? message
        }
    }
}
