import AgentCore
import Foundation

/// One line of the progress protocol (docs/progress-protocol.md) a training program prints on
/// stdout: `@agentmgr {"kind": …}`. Anything else is ordinary log output.
public enum ProgressLine: Equatable, Sendable {
    case progress(step: Int64, metrics: [String: Double])
    case checkpoint(step: Int64, uri: String, metrics: [String: Double])
    case result(metrics: [String: Double])

    static let prefix = "@agentmgr "

    /// nil for ordinary output; `.failure` for a protocol line that does not follow the format
    /// (readers log and ignore those).
    public static func parse(_ line: Substring) -> Result<ProgressLine, ProgressLineError>? {
        guard line.hasPrefix(prefix) else { return nil }
        let json = line.dropFirst(prefix.count).trimmingCharacters(in: .whitespacesAndNewlines)
        guard case .object(let fields)? = try? JSONValue.parse(Data(json.utf8)) else {
            return .failure(ProgressLineError("not a JSON object"))
        }
        guard case .string(let kind)? = fields["kind"] else { return .failure(ProgressLineError("kind is required")) }
        let metrics: [String: Double]
        switch fields["metrics"] {
        case nil, .null?: metrics = [:]
        case .object(let values)?:
            var parsed: [String: Double] = [:]
            for (name, value) in values {
                guard !name.utf8.contains(0), name.utf8.count <= 200 else { return .failure(ProgressLineError("metric names must be 1-200 bytes without NUL")) }
                guard case .number(let number) = value, number.isFinite else {
                    return .failure(ProgressLineError("metrics.\(name) must be a finite number"))
                }
                parsed[name] = number
            }
            metrics = parsed
        default: return .failure(ProgressLineError("metrics must be an object"))
        }
        func step() -> Int64? {
            guard let number = fields["step"]?.integerValue, number >= 0 else { return nil }
            return Int64(number)
        }
        switch kind {
        case "progress":
            guard let step = step() else { return .failure(ProgressLineError("step must be an integer ≥ 0")) }
            return .success(.progress(step: step, metrics: metrics))
        case "checkpoint":
            guard let step = step() else { return .failure(ProgressLineError("step must be an integer ≥ 0")) }
            guard case .string(let uri)? = fields["uri"], uri.hasPrefix("file://"), !uri.utf8.contains(0), uri.utf8.count <= 4096 else {
                return .failure(ProgressLineError("uri must be a file:// URI"))
            }
            return .success(.checkpoint(step: step, uri: uri, metrics: metrics))
        case "result":
            return .success(.result(metrics: metrics))
        default:
            return .failure(ProgressLineError("unknown kind \(kind)"))
        }
    }
}

public struct ProgressLineError: Error, Equatable, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
