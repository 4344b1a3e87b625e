import AgentCore
import Foundation

/// Reads a job request (the JSON contract in docs/job-spec.md) into a `JobSpec`, collecting every
/// problem with it instead of stopping at the first.
///
/// Two kinds of problem are kept apart. A JSON value of the wrong type (a string where a number
/// belongs, a body that is not an object) makes the request *malformed*: it can never succeed and is
/// dead-lettered. Anything else (a missing field, a value out of bounds or in the wrong format, an
/// unknown field, an unknown enum value) makes it *invalid*: the submitter is told, field by field.
public enum JobSpecDecoder {
    public enum Outcome: Sendable, Equatable {
        /// Wrong JSON types anywhere (a string where a number belongs, an object where an array
        /// belongs...), or the body is not a JSON object: every such problem, with its field path.
        /// Such a request is "malformed" (it will be dead-lettered).
        case malformed([FieldProblem])
        /// Types are right. `problems` lists every other violation (missing required field, out of
        /// bounds, bad format, unknown field, bad enum value); empty means the spec is valid. `spec`
        /// is filled with whatever could be read (defaults elsewhere), so callers can still report
        /// tenant etc.
        case decoded(JobSpec, problems: [FieldProblem])
    }

    /// Parses `body` as JSON, then decodes it. Invalid JSON is malformed, at field `(body)`.
    public static func decode(_ body: Data) -> Outcome {
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
        } catch {
            return .malformed([FieldProblem(field: bodyField, message: "is not valid JSON: \(parseFailure(body, error))")])
        }
        return decode(value)
    }

    public static func decode(_ value: JSONValue) -> Outcome {
        var reader = SpecReader()
        let spec = reader.spec(from: value)
        if !reader.malformed.isEmpty {
            return .malformed(reader.malformed)
        }
        return .decoded(spec, problems: reader.problems)
    }

    /// The field name used for problems with the request as a whole.
    static let bodyField = "(body)"

    /// Why `body` is not JSON, in the parser's words when it has some.
    private static func parseFailure(_ body: Data, _ error: any Error) -> String {
        if body.isEmpty { return "the body is empty" }
        do {
            _ = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch let error as NSError {
            if let detail = error.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
        }
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        return "\(error)"
    }
}

// MARK: - Bounds

/// The limits of the contract, in one place (docs/job-spec.md repeats them for users).
enum JobSpecLimits {
    static let tenantLength = 1...63
    static let agentNameLength = 1...100
    static let agentVersionLength = 1...64
    static let nameLength = 1...128
    static let replicas = 1...1024
    static let flavorLength = 1...63
    static let gpus = 0...64
    static let cpu = 1...1024
    static let memoryGiB = 1...16384
    static let maxRuntimeSeconds = 60...(30 * 86_400)
    static let minCheckpointIntervalSeconds = 60
    static let maxAttempts = 1...100
    static let backoffSeconds = 0...86_400
    static let stallTimeoutSeconds = 5...604_800
    static let maxStages = 32
    static let stageNameLength = 1...64
    static let metricLength = 1...128
    static let maxDependencies = 32
    static let maxLabels = 64
    static let labelKeyLength = 1...63
    static let labelValueMaxLength = 256
    static let idempotencyKeyLength = 1...200
}

// MARK: - Reader

/// One pass over a request: reads what it can and records every problem on the way.
struct SpecReader {
    /// Wrong JSON types: the request is malformed.
    var malformed: [FieldProblem] = []
    /// Everything else.
    var problems: [FieldProblem] = []

    typealias Limits = JobSpecLimits
    typealias Fields = [String: JSONValue]

    static let topLevelKeys = [
        "tenant", "agent", "name", "priority_class", "replicas", "resources", "max_runtime", "checkpoint_interval", "retry",
        "curriculum", "depends_on", "labels", "idempotency_key", "same_zone",
    ]
    static let resourceKeys = ["flavor", "gpus", "cpu", "memory_gib"]
    static let retryKeys = ["max_attempts", "backoff", "retry_on", "stall_timeout"]
    static let stageKeys = ["name", "parameters", "max_runtime", "advance_when"]
    static let thresholdKeys = ["metric", "at_least", "at_most"]

    mutating func spec(from value: JSONValue) -> JobSpec {
        var spec = JobSpec(tenant: "", agent: "", agentVersion: "")
        guard let fields = object(value, at: JobSpecDecoder.bodyField, expected: "a JSON object") else { return spec }

        if let tenant = string(fields, "tenant", in: "", required: true) {
            spec.tenant = tenant
            if !Self.isSlug(tenant, length: Limits.tenantLength, extra: "-") {
                problem("tenant", "must be 1-63 characters of a-z, 0-9 and \"-\", starting with a letter; got \(quoted(tenant))")
            }
        }
        if let agent = string(fields, "agent", in: "", required: true) {
            (spec.agent, spec.agentVersion) = agentReference(agent)
        }
        if let name = string(fields, "name", in: "") {
            spec.name = name
            checkLength(name, Limits.nameLength, at: "name")
        }
        if let text = string(fields, "priority_class", in: "") {
            if let priorityClass = PriorityClass(rawValue: text) {
                spec.priorityClass = priorityClass
            } else {
                problem("priority_class", oneOf(PriorityClass.allCases.map(\.rawValue), got: text))
            }
        }
        if let replicas = integer(fields, "replicas", in: "", bounds: Limits.replicas) {
            spec.replicas = replicas
        }
        if let resources = object(fields, "resources", in: "") {
            spec.resources = self.resources(resources)
        }

        let maxRuntime = duration(fields, "max_runtime", in: "", bounds: Limits.maxRuntimeSeconds)
        if let maxRuntime { spec.maxRuntimeSeconds = maxRuntime }
        if let checkpoint = present(fields, "checkpoint_interval") {
            spec.checkpointIntervalSeconds = checkpointInterval(
                checkpoint, maxRuntime: maxRuntime, maxRuntimeGiven: present(fields, "max_runtime") != nil)
        }

        if let retry = object(fields, "retry", in: "") {
            spec.retry = self.retry(retry)
        }
        if let stages = array(fields, "curriculum", in: "") {
            spec.curriculum = curriculum(stages)
        }
        if let dependencies = array(fields, "depends_on", in: "") {
            spec.dependsOn = self.dependencies(dependencies)
        }
        if let labels = object(fields, "labels", in: "") {
            spec.labels = self.labels(labels)
        }
        switch fields["same_zone"] {
        case nil, .null?: break
        case .bool(let value)?: spec.sameZone = value
        case let other?: malformed("same_zone", expected: "true or false", got: other)
        }
        if let key = string(fields, "idempotency_key", in: "") {
            spec.idempotencyKey = key
            checkLength(key, Limits.idempotencyKeyLength, at: "idempotency_key")
        }
        unknownKeys(in: fields, allowed: Self.topLevelKeys, at: "")
        return spec
    }

    // MARK: Parts

    /// At least a minute, and no longer than the job may run.
    private mutating func checkpointInterval(_ value: JSONValue, maxRuntime: Int?, maxRuntimeGiven: Bool) -> Int? {
        let ceiling: Int
        let ceilingText: String
        if !maxRuntimeGiven {
            ceiling = JobSpec.defaultMaxRuntimeSeconds
            ceilingText = "max_runtime (\(DurationText.format(ceiling)) by default)"
        } else if let maxRuntime, Limits.maxRuntimeSeconds.contains(maxRuntime) {
            ceiling = maxRuntime
            ceilingText = "max_runtime (\(DurationText.format(ceiling)))"
        } else {
            // max_runtime is wrong itself (and reported): hold this one to the widest bound.
            ceiling = Limits.maxRuntimeSeconds.upperBound
            ceilingText = DurationText.format(ceiling)
        }
        let floor = Limits.minCheckpointIntervalSeconds
        return duration(
            value, at: "checkpoint_interval", bounds: floor...ceiling, boundsText: "between \(DurationText.format(floor)) and \(ceilingText)")
    }

    /// Splits `name@version`, reporting what is wrong with either half at field `agent`. A bare
    /// `name` asks for the agent's default version: the version comes back empty and admission
    /// resolves it.
    private mutating func agentReference(_ text: String) -> (name: String, version: String) {
        guard let at = text.firstIndex(of: "@") else {
            if !Self.isSlug(text, length: Limits.agentNameLength, extra: "-_.") {
                problem(
                    "agent",
                    "must be \"name@version\" or a name (for its default version): 1-100 characters of a-z, 0-9, \"-\", \"_\" and \".\", starting with a letter; got \(quoted(text))")
            }
            return (text, "")
        }
        let name = String(text[..<at])
        let version = String(text[text.index(after: at)...])
        if !Self.isSlug(name, length: Limits.agentNameLength, extra: "-_.") {
            problem(
                "agent",
                "name must be 1-100 characters of a-z, 0-9, \"-\", \"_\" and \".\", starting with a letter; got \(quoted(name)) in \(quoted(text))")
        }
        let versionCharacters = version.utf8.allSatisfy { Self.isAlphanumeric($0) || "._+-".utf8.contains($0) }
        if !versionCharacters || !Limits.agentVersionLength.contains(version.utf8.count) {
            problem(
                "agent",
                "version must be 1-64 characters of A-Z, a-z, 0-9, \".\", \"_\", \"+\" and \"-\"; got \(quoted(version)) in \(quoted(text))")
        }
        return (name, version)
    }

    private mutating func resources(_ fields: Fields) -> ResourceOverrides {
        let path = "resources"
        var resources = ResourceOverrides()
        if let flavor = string(fields, "flavor", in: path) {
            resources.flavor = flavor
            let characters = flavor.utf8.allSatisfy { Self.isLowercaseOrDigit($0) || $0 == UInt8(ascii: "-") }
            if !characters || !Limits.flavorLength.contains(flavor.utf8.count) {
                problem("resources.flavor", "must be 1-63 characters of a-z, 0-9 and \"-\"; got \(quoted(flavor))")
            }
        }
        resources.gpus = integer(fields, "gpus", in: path, bounds: Limits.gpus)
        resources.cpu = integer(fields, "cpu", in: path, bounds: Limits.cpu)
        resources.memoryGiB = integer(fields, "memory_gib", in: path, bounds: Limits.memoryGiB)
        unknownKeys(in: fields, allowed: Self.resourceKeys, at: path)
        return resources
    }

    private mutating func retry(_ fields: Fields) -> RetryPolicy {
        let path = "retry"
        var policy = RetryPolicy()
        if let attempts = integer(fields, "max_attempts", in: path, bounds: Limits.maxAttempts) {
            policy.maxAttempts = attempts
        }
        if let backoff = duration(fields, "backoff", in: path, bounds: Limits.backoffSeconds) {
            policy.backoffSeconds = backoff
        }
        if let stall = duration(fields, "stall_timeout", in: path, bounds: Limits.stallTimeoutSeconds) {
            policy.stallTimeoutSeconds = stall
        }
        if let items = array(fields, "retry_on", in: path) {
            var categories: [FailureCategory] = []
            var firstIndex: [FailureCategory: Int] = [:]
            for (index, item) in items.enumerated() {
                let itemPath = "retry.retry_on[\(index)]"
                guard let text = string(item, at: itemPath) else { continue }
                guard let category = FailureCategory(rawValue: text) else {
                    problem(itemPath, oneOf(FailureCategory.allCases.map(\.rawValue), got: text))
                    continue
                }
                if let first = firstIndex[category] {
                    problem(itemPath, "repeats retry.retry_on[\(first)] (\(quoted(text)))")
                    continue
                }
                firstIndex[category] = index
                categories.append(category)
            }
            policy.retryOn = categories
        }
        unknownKeys(in: fields, allowed: Self.retryKeys, at: path)
        return policy
    }

    private mutating func curriculum(_ items: [JSONValue]) -> [CurriculumStage] {
        if items.count > Limits.maxStages {
            problem("curriculum", "must have at most \(Limits.maxStages) stages, got \(items.count)")
        }
        var stages: [CurriculumStage] = []
        var firstIndex: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "curriculum[\(index)]"
            guard let fields = object(item, at: path, expected: "an object") else { continue }
            var stage = CurriculumStage(name: "")
            if let name = string(fields, "name", in: path, required: true) {
                stage.name = name
                if let first = firstIndex[name] {
                    problem("\(path).name", "repeats the name of curriculum[\(first)] (\(quoted(name))); stage names must be unique")
                } else {
                    firstIndex[name] = index
                    checkLength(name, Limits.stageNameLength, at: "\(path).name")
                }
            }
            if let parameters = object(fields, "parameters", in: path) {
                stage.parameters = .object(parameters)
            }
            stage.maxRuntimeSeconds = duration(fields, "max_runtime", in: path, bounds: Limits.maxRuntimeSeconds)
            if let condition = object(fields, "advance_when", in: path) {
                stage.advanceWhen = threshold(condition, at: "\(path).advance_when")
            }
            unknownKeys(in: fields, allowed: Self.stageKeys, at: path)
            stages.append(stage)
        }
        return stages
    }

    private mutating func threshold(_ fields: Fields, at path: String) -> MetricThreshold {
        var threshold = MetricThreshold(metric: "")
        if let metric = string(fields, "metric", in: path, required: true) {
            threshold.metric = metric
            checkLength(metric, Limits.metricLength, at: "\(path).metric")
        }
        threshold.atLeast = number(fields, "at_least", in: path)
        threshold.atMost = number(fields, "at_most", in: path)
        switch (threshold.atLeast, threshold.atMost) {
        case (nil, nil):
            // Only worth saying when neither was given at all (a mistyped one is already reported).
            if present(fields, "at_least") == nil, present(fields, "at_most") == nil {
                problem(path, "needs at_least or at_most (or both)")
            }
        case (let low?, let high?) where low > high:
            problem(path, "can never be met: at_least (\(Self.number(low))) is greater than at_most (\(Self.number(high)))")
        default:
            break
        }
        unknownKeys(in: fields, allowed: Self.thresholdKeys, at: path)
        return threshold
    }

    private mutating func dependencies(_ items: [JSONValue]) -> [UUID] {
        if items.count > Limits.maxDependencies {
            problem("depends_on", "must list at most \(Limits.maxDependencies) jobs, got \(items.count)")
        }
        var ids: [UUID] = []
        var firstIndex: [UUID: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "depends_on[\(index)]"
            guard let text = string(item, at: path) else { continue }
            guard let id = UUID(uuidString: text) else {
                problem(path, "must be a job id (a UUID such as \"6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01\"), got \(quoted(text))")
                continue
            }
            if let first = firstIndex[id] {
                problem(path, "repeats depends_on[\(first)] (\(quoted(text)))")
                continue
            }
            firstIndex[id] = index
            ids.append(id)
        }
        return ids
    }

    private mutating func labels(_ fields: Fields) -> [String: String] {
        if fields.count > Limits.maxLabels {
            problem("labels", "must have at most \(Limits.maxLabels) labels, got \(fields.count)")
        }
        var labels: [String: String] = [:]
        for key in fields.keys.sorted() {
            let path = "labels.\(key)"
            // A null label is a value of the wrong type, not an absent field.
            guard let value = fields[key], case .string(let text) = value else {
                malformed(path, expected: "a string", got: fields[key] ?? .null)
                continue
            }
            labels[key] = text
            let keyCharacters = key.utf8.allSatisfy { Self.isAlphanumeric($0) || "._/-".utf8.contains($0) }
            if !keyCharacters || !Limits.labelKeyLength.contains(key.utf8.count) {
                problem(path, "label keys must be 1-63 characters of A-Z, a-z, 0-9, \".\", \"_\", \"/\" and \"-\"; got \(quoted(key))")
            }
            if text.count > Limits.labelValueMaxLength {
                problem(path, "must be at most \(Limits.labelValueMaxLength) characters, got \(text.count)")
            }
        }
        return labels
    }

    // MARK: Typed reads
    // Each returns nil when the field is absent, null, or of the wrong type (recorded as malformed).

    /// The value of `key`, nil when absent or null (null means absent for optional fields).
    private func present(_ fields: Fields, _ key: String) -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        return value
    }

    private static func path(_ parent: String, _ key: String) -> String {
        parent.isEmpty ? key : "\(parent).\(key)"
    }

    private mutating func string(_ fields: Fields, _ key: String, in parent: String, required: Bool = false) -> String? {
        let path = Self.path(parent, key)
        guard let value = present(fields, key) else {
            if required { problem(path, "is required") }
            return nil
        }
        return string(value, at: path)
    }

    private mutating func string(_ value: JSONValue, at path: String) -> String? {
        guard case .string(let text) = value else {
            malformed(path, expected: "a string", got: value)
            return nil
        }
        return text
    }

    private mutating func object(_ fields: Fields, _ key: String, in parent: String) -> Fields? {
        guard let value = present(fields, key) else { return nil }
        return object(value, at: Self.path(parent, key), expected: "an object")
    }

    private mutating func object(_ value: JSONValue, at path: String, expected: String) -> Fields? {
        guard case .object(let fields) = value else {
            malformed(path, expected: expected, got: value)
            return nil
        }
        return fields
    }

    private mutating func array(_ fields: Fields, _ key: String, in parent: String) -> [JSONValue]? {
        guard let value = present(fields, key) else { return nil }
        guard case .array(let items) = value else {
            malformed(Self.path(parent, key), expected: "an array", got: value)
            return nil
        }
        return items
    }

    private mutating func number(_ fields: Fields, _ key: String, in parent: String) -> Double? {
        guard let value = present(fields, key) else { return nil }
        guard case .number(let number) = value else {
            malformed(Self.path(parent, key), expected: "a number", got: value)
            return nil
        }
        return number
    }

    /// A whole number; 8.0 counts as 8. A fraction or a value outside `bounds` is a problem, and
    /// the value is still returned when it fits in an `Int`.
    private mutating func integer(_ fields: Fields, _ key: String, in parent: String, bounds: ClosedRange<Int>) -> Int? {
        let path = Self.path(parent, key)
        guard let value = present(fields, key) else { return nil }
        guard case .number(let number) = value else {
            malformed(path, expected: "an integer", got: value)
            return nil
        }
        let range = "between \(bounds.lowerBound) and \(bounds.upperBound)"
        guard number.rounded(.towardZero) == number else {
            problem(path, "must be a whole number \(range), got \(Self.number(number))")
            return nil
        }
        let integer = Int(exactly: number)
        if integer.map({ !bounds.contains($0) }) ?? true {
            problem(path, "must be an integer \(range), got \(Self.number(number))")
        }
        return integer
    }

    private mutating func duration(_ fields: Fields, _ key: String, in parent: String, bounds: ClosedRange<Int>) -> Int? {
        guard let value = present(fields, key) else { return nil }
        return duration(
            value, at: Self.path(parent, key), bounds: bounds,
            boundsText: "between \(DurationText.format(bounds.lowerBound)) and \(DurationText.format(bounds.upperBound))")
    }

    /// A whole number of seconds or a string such as "1h30m". A string that is not a duration, a
    /// fraction or a value outside `bounds` is a problem; any other JSON type is malformed.
    private mutating func duration(_ value: JSONValue, at path: String, bounds: ClosedRange<Int>, boundsText: String) -> Int? {
        let seconds: Int
        let given: String
        switch value {
        case .number(let number):
            guard number.rounded(.towardZero) == number else {
                problem(path, "must be a whole number of seconds or a duration such as \"30m\" or \"6h\", got \(Self.number(number))")
                return nil
            }
            seconds = Int(exactly: number) ?? (number < 0 ? Int.min : Int.max)
            given = "\(Self.number(number)) seconds" + (seconds >= 60 && seconds != Int.max ? " (\(DurationText.format(seconds)))" : "")
        case .string(let text):
            guard let parsed = DurationText.seconds(from: text) else {
                problem(path, "must be a duration such as \"30m\", \"6h\" or a number of seconds, got \(quoted(text))")
                return nil
            }
            seconds = parsed
            given = quoted(text)
        default:
            malformed(path, expected: "a duration (a number of seconds or a string such as \"6h\")", got: value)
            return nil
        }
        if !bounds.contains(seconds) {
            problem(path, "must be \(boundsText), got \(given)")
        }
        return seconds
    }

    // MARK: Checks and messages

    private mutating func problem(_ field: String, _ message: String) {
        problems.append(FieldProblem(field: field, message: message))
    }

    private mutating func malformed(_ field: String, expected: String, got value: JSONValue) {
        malformed.append(FieldProblem(field: field, message: "must be \(expected), got \(Self.describe(value))"))
    }

    private mutating func checkLength(_ text: String, _ bounds: ClosedRange<Int>, at path: String) {
        if text.count < bounds.lowerBound {
            problem(path, "must not be empty")
        } else if text.count > bounds.upperBound {
            problem(path, "must be at most \(bounds.upperBound) characters, got \(text.count)")
        }
    }

    /// Reports every key of `fields` not in `allowed`, suggesting the allowed key it was probably
    /// meant to be (edit distance at most 2).
    private mutating func unknownKeys(in fields: Fields, allowed: [String], at parent: String) {
        for key in fields.keys.sorted() where !allowed.contains(key) {
            let suggestion = allowed
                .map { (key: $0, distance: Self.editDistance(key.lowercased(), $0)) }
                .filter { $0.distance <= 2 }
                .min { $0.distance < $1.distance }
            problem(Self.path(parent, key), suggestion.map { "unknown field (did you mean \"\($0.key)\"?)" } ?? "unknown field")
        }
    }

    private func oneOf(_ choices: [String], got text: String) -> String {
        "must be one of \(choices.joined(separator: ", ")); got \(quoted(text))"
    }

    private func quoted(_ text: String) -> String {
        Self.quoted(text)
    }

    /// `"text"`, shortened when long so that a problem stays readable.
    static func quoted(_ text: String) -> String {
        let limit = 64
        let shown = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return "\"\(shown.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
    }

    /// 8 for 8.0, 8.5 for 8.5.
    static func number(_ number: Double) -> String {
        if number.rounded(.towardZero) == number, abs(number) < 1e15 {
            return String(Int(number))
        }
        return "\(number)"
    }

    /// A JSON value as a person would name it in "got ...".
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): Self.number(number)
        case .string(let text): quoted(text)
        case .array: "an array"
        case .object: "an object"
        }
    }

    // MARK: Character classes

    private static func isLowercaseOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowercaseOrDigit(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    /// A lowercase ASCII identifier starting with a letter, of a-z, 0-9 and the `extra` characters.
    static func isSlug(_ text: String, length: ClosedRange<Int>, extra: String) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return length.contains(text.utf8.count) && text.utf8.allSatisfy { isLowercaseOrDigit($0) || extra.utf8.contains($0) }
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring characters each cost 1.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
