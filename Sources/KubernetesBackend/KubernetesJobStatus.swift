import AgentCore
import Foundation

/// A Job's `status`: how many pods are active, ready, succeeded and failed, and how it ended.
public struct KubernetesJobStatus: Sendable, Equatable {
    public struct Condition: Sendable, Equatable {
        /// `Complete`, `Failed`, `Suspended`, `FailureTarget`, `SuccessCriteriaMet`, ...
        public var type: String
        public var status: Bool
        /// For `Failed`: `BackoffLimitExceeded` (a pod failed), `DeadlineExceeded` (max runtime), ...
        public var reason: String?
        public var message: String?
    }

    public enum Outcome: Sendable, Equatable {
        case succeeded
        case failed(reason: String?, message: String?)
    }

    public var name: String
    public var uid: String
    public var active: Int
    public var ready: Int
    public var succeeded: Int
    public var failed: Int
    public var startTime: Date?
    public var completionTime: Date?
    public var conditions: [Condition]

    /// nil while it runs; its end once the controller has set `Complete` or `Failed`.
    public var outcome: Outcome? {
        if conditions.contains(where: { $0.type == "Complete" && $0.status }) { return .succeeded }
        if let failed = conditions.first(where: { $0.type == "Failed" && $0.status }) {
            return .failed(reason: failed.reason, message: failed.message)
        }
        return nil
    }

    init(job: JSONValue) {
        let status = job["status"] ?? .object([:])
        name = job["metadata"]?["name"].flatMap(\.text) ?? ""
        uid = job["metadata"]?["uid"].flatMap(\.text) ?? ""
        active = status["active"]?.integerValue ?? 0
        ready = status["ready"]?.integerValue ?? 0
        succeeded = status["succeeded"]?.integerValue ?? 0
        failed = status["failed"]?.integerValue ?? 0
        startTime = status["startTime"].flatMap(\.text).flatMap(ISO8601.date(from:))
        completionTime = status["completionTime"].flatMap(\.text).flatMap(ISO8601.date(from:))
        guard case .array(let list)? = status["conditions"] else {
            conditions = []
            return
        }
        conditions = list.map {
            Condition(
                type: $0["type"].flatMap(\.text) ?? "", status: $0["status"] == "True", reason: $0["reason"].flatMap(\.text),
                message: $0["message"].flatMap(\.text))
        }
    }
}

extension JSONValue {
    /// The string, when this is one.
    var text: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
