import AgentCore
import Foundation

/// One stage of a job's curriculum as the node agent runs it (the job's `curriculum` column,
/// docs/job-spec.md): its parameters (`AGENTMGR_PARAMETERS`), its own max runtime, and the metric
/// the stage's result must reach before the next stage starts.
struct CurriculumStep: Equatable {
    var name: String
    var parameters: JSONValue
    var maxRuntimeSeconds: Int?
    var metric: String?
    var atLeast: Double?
    var atMost: Double?

    static func list(from value: JSONValue) -> [CurriculumStep] {
        guard case .array(let items) = value else { return [] }
        return items.compactMap { item in
            guard case .object(let fields) = item, case .string(let name)? = fields["name"] else { return nil }
            var step = CurriculumStep(name: name, parameters: fields["parameters"] ?? .object([:]))
            if case .number(let seconds)? = fields["max_runtime_seconds"] { step.maxRuntimeSeconds = Int(seconds) }
            if case .object(let condition)? = fields["advance_when"], case .string(let metric)? = condition["metric"] {
                step.metric = metric
                if case .number(let bound)? = condition["at_least"] { step.atLeast = bound }
                if case .number(let bound)? = condition["at_most"] { step.atMost = bound }
            }
            return step
        }
    }

    /// Whether a stage that ended with these metrics lets the next one start; the reason if not.
    func allowsNext(after metrics: [String: Double]) -> (Bool, String?) {
        guard let metric else { return (true, nil) }
        guard let value = metrics[metric] else {
            return (false, "stage \(name) reported no \(metric) in its result (needed to advance)")
        }
        if let atLeast, value < atLeast { return (false, "stage \(name) ended with \(metric) \(value), below \(atLeast)") }
        if let atMost, value > atMost { return (false, "stage \(name) ended with \(metric) \(value), above \(atMost)") }
        return (true, nil)
    }
}
