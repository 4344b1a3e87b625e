import AgentCore
import Foundation
import Testing

@testable import Admission

@Suite("Job spec decoder")
struct JobSpecDecoderTests {
    // MARK: Valid specs

    @Test("A full spec decodes to exactly the expected JobSpec")
    func fullSpec() throws {
        let body = #"""
            {
              "tenant": "acme",
              "agent": "resnet-trainer@1.2.0",
              "name": "resnet50 lr sweep",
              "priority_class": "high",
              "replicas": 2,
              "resources": {"flavor": "gpu-v100", "gpus": 4, "cpu": 48, "memory_gib": 192},
              "max_runtime": "6h",
              "checkpoint_interval": "30m",
              "retry": {"max_attempts": 5, "backoff": "2m", "retry_on": ["node_lost", "exit_nonzero"], "stall_timeout": "20m"},
              "curriculum": [
                {"name": "warmup", "parameters": {"lr": 0.1, "layers": [1, 2], "frozen": true},
                 "max_runtime": "1h", "advance_when": {"metric": "val_accuracy", "at_least": 0.5}},
                {"name": "main", "advance_when": {"metric": "loss", "at_least": 0, "at_most": 0.2}}
              ],
              "depends_on": ["6F1C1A52-1B1E-4C36-9A52-8F0C2A1B9E01"],
              "labels": {"team": "vision", "example.com/cost-center": "r-42"},
              "idempotency_key": "acme-sweep-2026-11-24"
            }
            """#
        let expected = JobSpec(
            tenant: "acme", agent: "resnet-trainer", agentVersion: "1.2.0", name: "resnet50 lr sweep", priorityClass: .high,
            replicas: 2, resources: ResourceOverrides(flavor: "gpu-v100", gpus: 4, cpu: 48, memoryGiB: 192),
            maxRuntimeSeconds: 6 * 3600, checkpointIntervalSeconds: 30 * 60,
            retry: RetryPolicy(maxAttempts: 5, backoffSeconds: 120, retryOn: [.nodeLost, .exitNonzero], stallTimeoutSeconds: 20 * 60),
            curriculum: [
                CurriculumStage(
                    name: "warmup",
                    parameters: .object(["lr": .number(0.1), "layers": .array([.number(1), .number(2)]), "frozen": .bool(true)]),
                    maxRuntimeSeconds: 3600, advanceWhen: MetricThreshold(metric: "val_accuracy", atLeast: 0.5)),
                CurriculumStage(name: "main", advanceWhen: MetricThreshold(metric: "loss", atLeast: 0, atMost: 0.2)),
            ],
            dependsOn: [try #require(UUID(uuidString: "6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01"))],
            labels: ["team": "vision", "example.com/cost-center": "r-42"], idempotencyKey: "acme-sweep-2026-11-24")
        #expect(JobSpecDecoder.decode(Data(body.utf8)) == .decoded(expected, problems: []))
    }

    @Test("A minimal spec gets every default")
    func minimalSpec() {
        let outcome = decode(#"{"tenant": "globex", "agent": "gridworld-agent@0.3.0"}"#)
        let expected = JobSpec(
            tenant: "globex", agent: "gridworld-agent", agentVersion: "0.3.0", name: nil, priorityClass: .normal, replicas: 1,
            resources: ResourceOverrides(), maxRuntimeSeconds: 24 * 3600, checkpointIntervalSeconds: nil,
            retry: RetryPolicy(maxAttempts: 3, backoffSeconds: 30, retryOn: [.nodeLost, .preempted, .stalled]),
            curriculum: [], dependsOn: [], labels: [:], idempotencyKey: nil)
        #expect(outcome == .decoded(expected, problems: []))
    }

    @Test("null for an optional field means absent")
    func nullIsAbsent() {
        let outcome = decode(
            #"""
            {"tenant": "acme", "agent": "a@1", "name": null, "priority_class": null, "replicas": null, "resources": null,
             "max_runtime": null, "checkpoint_interval": null, "retry": {"max_attempts": null, "backoff": null, "retry_on": null},
             "curriculum": null, "depends_on": null, "labels": null, "idempotency_key": null}
            """#)
        #expect(outcome == .decoded(JobSpec(tenant: "acme", agent: "a", agentVersion: "1"), problems: []))
    }

    @Test("Integral floats are integers; a fraction is refused as a bounds problem, not a type problem")
    func integralFloats() {
        let whole = decode(#"{"tenant": "acme", "agent": "a@1", "replicas": 8.0, "resources": {"gpus": 2.0}, "max_runtime": 3600.0}"#)
        guard case .decoded(let spec, let problems) = whole else {
            Issue.record("expected decoded, got \(whole)")
            return
        }
        #expect(problems == [])
        #expect(spec.replicas == 8)
        #expect(spec.resources.gpus == 2)
        #expect(spec.maxRuntimeSeconds == 3600)

        #expect(
            problemsOf(#"{"tenant": "acme", "agent": "a@1", "replicas": 8.5}"#)
                == [FieldProblem(field: "replicas", message: "must be a whole number between 1 and 1024, got 8.5")])
    }

    // MARK: Malformed requests

    @Test(
        "Wrong JSON types are malformed, each reported at its path",
        arguments: [
            (#"{"tenant": 5, "agent": "a@1"}"#, [FieldProblem(field: "tenant", message: "must be a string, got 5")]),
            (#"{"tenant": "acme", "agent": "a@1", "replicas": "8"}"#, [FieldProblem(field: "replicas", message: #"must be an integer, got "8""#)]),
            (#"{"tenant": "acme", "agent": "a@1", "resources": []}"#, [FieldProblem(field: "resources", message: "must be an object, got an array")]),
            (#"{"tenant": "acme", "agent": "a@1", "max_runtime": true}"#,
             [FieldProblem(field: "max_runtime", message: #"must be a duration (a number of seconds or a string such as "6h"), got true"#)]),
            (#"{"tenant": "acme", "agent": "a@1", "labels": {"team": 5}}"#, [FieldProblem(field: "labels.team", message: "must be a string, got 5")]),
            (#"{"tenant": "acme", "agent": "a@1", "labels": {"team": null}}"#, [FieldProblem(field: "labels.team", message: "must be a string, got null")]),
            (#"{"tenant": "acme", "agent": "a@1", "curriculum": {"name": "x"}}"#, [FieldProblem(field: "curriculum", message: "must be an array, got an object")]),
            (#"{"tenant": "acme", "agent": "a@1", "curriculum": [{"name": "x", "parameters": [1]}]}"#,
             [FieldProblem(field: "curriculum[0].parameters", message: "must be an object, got an array")]),
            ("[1, 2]", [FieldProblem(field: "(body)", message: "must be a JSON object, got an array")]),
            (#""job""#, [FieldProblem(field: "(body)", message: #"must be a JSON object, got "job""#)]),
            ("null", [FieldProblem(field: "(body)", message: "must be a JSON object, got null")]),
        ])
    func malformed(body: String, expected: [FieldProblem]) {
        #expect(decode(body) == .malformed(expected))
    }

    @Test("Every wrong type in a body is reported, and only those")
    func everyWrongType() {
        let body = #"""
            {
              "tenant": 42, "agent": "a@1", "replicas": "8", "priority_class": "urgent", "bogus": 1,
              "resources": {"gpus": "1", "cpu": 5000},
              "max_runtime": [],
              "retry": {"retry_on": "stalled", "max_attempts": {}},
              "curriculum": [
                {"name": "a", "advance_when": {"metric": "m", "at_least": "0.5"}},
                {"name": 7, "max_runtime": false},
                "stage three"
              ],
              "depends_on": [1, "not-a-uuid"],
              "labels": {"team": 5, "env": "prod"},
              "idempotency_key": false
            }
            """#
        guard case .malformed(let problems) = decode(body) else {
            Issue.record("expected malformed")
            return
        }
        #expect(
            Set(problems.map(\.field)) == [
                "tenant", "replicas", "resources.gpus", "max_runtime", "retry.retry_on", "retry.max_attempts",
                "curriculum[0].advance_when.at_least", "curriculum[1].name", "curriculum[1].max_runtime", "curriculum[2]",
                "depends_on[0]", "labels.team", "idempotency_key",
            ])
        #expect(problems.count == 13)
    }

    @Test("Invalid JSON is malformed at (body)", arguments: ["{\"tenant\": ", "not json", "", "{\"tenant\" \"acme\"}"])
    func invalidJSON(body: String) throws {
        guard case .malformed(let problems) = JobSpecDecoder.decode(Data(body.utf8)) else {
            Issue.record("expected malformed")
            return
        }
        let problem = try #require(problems.first)
        #expect(problems.count == 1)
        #expect(problem.field == "(body)")
        #expect(problem.message.hasPrefix("is not valid JSON: "), "\(problem.message)")
    }

    // MARK: Invalid specs

    @Test("A spec with many violations lists all of them")
    func manyViolations() {
        let body = #"""
            {
              "agent": "Trainer",
              "name": "",
              "priority_class": "urgent",
              "replicas": 5000,
              "resources": {"flavor": "GPU V100", "gpus": 65, "cpu": 0, "memory_gib": 20000, "gpu_type": "v100"},
              "max_runtime": "45d",
              "checkpoint_interval": "30s",
              "retry": {"max_attempts": 0, "backoff": "2d", "retry_on": ["stalled", "oom", "stalled"], "stall_timeout": "2s"},
              "curriculum": [
                {"name": "warmup", "advance_when": {"metric": "acc"}},
                {"name": "warmup", "max_runtime": "10s", "advance_when": {"metric": "", "at_least": 0.9, "at_most": 0.5, "above": 1}},
                {"parameters": {}, "rounds": 3}
              ],
              "depends_on": ["job-17", "6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01", "6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01"],
              "labels": {"bad key!": "x", "note": "\#(String(repeating: "n", count: 300))"},
              "idempotency_key": "",
              "max_runtme": "1h",
              "colour": "blue"
            }
            """#
        let found = problemsOf(body)
        #expect(
            Set(found.map(\.field)) == [
                "tenant", "agent", "name", "priority_class", "replicas",
                "resources.flavor", "resources.gpus", "resources.cpu", "resources.memory_gib", "resources.gpu_type",
                "max_runtime", "checkpoint_interval",
                "retry.max_attempts", "retry.backoff", "retry.retry_on[1]", "retry.retry_on[2]", "retry.stall_timeout",
                "curriculum[0].advance_when", "curriculum[1].name", "curriculum[1].max_runtime",
                "curriculum[1].advance_when.metric", "curriculum[1].advance_when", "curriculum[1].advance_when.above",
                "curriculum[2].name", "curriculum[2].rounds",
                "depends_on[0]", "depends_on[2]", "labels.bad key!", "labels.note", "idempotency_key",
                "max_runtme", "colour",
            ])
        #expect(found.count == 32, "\(found.map(\.description).joined(separator: "\n"))")
        let messages = Dictionary(found.map { ($0.field, $0.message) }, uniquingKeysWith: { first, _ in first })
        #expect(messages["tenant"] == "is required")
        #expect(messages["agent"] == #"must be "name@version" or a name (for its default version): 1-100 characters of a-z, 0-9, "-", "_" and ".", starting with a letter; got "Trainer""#)
        #expect(messages["priority_class"] == #"must be one of critical, high, normal, low, batch; got "urgent""#)
        #expect(messages["replicas"] == "must be an integer between 1 and 1024, got 5000")
        #expect(messages["resources.gpus"] == "must be an integer between 0 and 64, got 65")
        #expect(messages["max_runtime"] == #"must be between 1m and 30d, got "45d""#)
        #expect(messages["checkpoint_interval"] == #"must be between 1m and 30d, got "30s""#)
        #expect(messages["retry.retry_on[1]"] == #"must be one of node_lost, preempted, stalled, exit_nonzero; got "oom""#)
        #expect(messages["retry.retry_on[2]"] == #"repeats retry.retry_on[0] ("stalled")"#)
        #expect(messages["retry.stall_timeout"]?.hasPrefix("must be between 5s and 7d") == true, "\(messages["retry.stall_timeout"] ?? "")")
        #expect(messages["curriculum[0].advance_when"] == "needs at_least or at_most (or both)")
        #expect(messages["curriculum[2].name"] == "is required")
        #expect(messages["depends_on[0]"]?.hasPrefix("must be a job id") == true)
        #expect(messages["labels.note"] == "must be at most 256 characters, got 300")
        #expect(messages["name"] == "must not be empty")
        #expect(messages["max_runtme"] == #"unknown field (did you mean "max_runtime"?)"#)
        #expect(messages["colour"] == "unknown field")
    }

    @Test("An invalid spec still carries what could be read, so the rejection can name the tenant")
    func partialSpec() {
        guard case .decoded(let spec, let problems) = decode(#"{"tenant": "acme", "agent": "trainer@1.0", "replicas": 0, "priority_class": "urgent"}"#)
        else {
            Issue.record("expected decoded")
            return
        }
        #expect(problems.map(\.field) == ["priority_class", "replicas"])
        #expect(spec.tenant == "acme")
        #expect(spec.agent == "trainer")
        #expect(spec.agentVersion == "1.0")
        #expect(spec.priorityClass == .normal)
    }

    @Test(
        "Tenant and agent formats",
        arguments: [
            (#""tenant": "acme-2", "agent": "trainer_v2.x@1.0.0+build-7""#, [String]()),
            (#""tenant": "2acme", "agent": "a@1""#, ["tenant"]),
            (#""tenant": "Acme", "agent": "a@1""#, ["tenant"]),
            (#""tenant": "\#(String(repeating: "a", count: 64))", "agent": "a@1""#, ["tenant"]),
            (#""tenant": "", "agent": "a@1""#, ["tenant"]),
            (#""tenant": "acme", "agent": "a@""#, ["agent"]),
            (#""tenant": "acme", "agent": "@1""#, ["agent"]),
            (#""tenant": "acme", "agent": "_a@1""#, ["agent"]),
            (#""tenant": "acme", "agent": "a@1@2""#, ["agent"]),
            (#""tenant": "acme", "agent": "trainer""#, [String]()),  // a name alone: its default version
            (#""tenant": "acme", "agent": "Trainer""#, ["agent"]),
            (#""tenant": "acme", "agent": "A@b""#, ["agent"]),
            (#""tenant": "acme", "agent": "a b@1""#, ["agent"]),
            (#""tenant": "acme", "agent": "@""#, ["agent", "agent"]),
            (#""tenant": null, "agent": null"#, ["tenant", "agent"]),
        ])
    func identifiers(fields: String, expected: [String]) {
        #expect(problemsOf("{\(fields)}").map(\.field) == expected)
    }

    @Test("The invalid example (examples/jobs/invalid-example.yaml, as JSON) gives the reasons docs/job-spec.md shows, in order")
    func documentedInvalidExample() {
        let body = #"""
            {"tenant": "Acme Corp", "agent": "ResNet Trainer", "priority_class": "urgent", "replicas": 0,
             "resources": {"flavor": "gpu-v100", "gpus": 128, "memory_gb": 64}, "max_runtime": "soon", "checkpoint_interval": "30s",
             "retry": {"max_attempts": 3, "retry_on": ["node_lost", "oom"]}, "depends_on": ["job-1234"]}
            """#
        #expect(
            problemsOf(body) == [
                FieldProblem(field: "tenant", message: #"must be 1-63 characters of a-z, 0-9 and "-", starting with a letter; got "Acme Corp""#),
                FieldProblem(field: "agent", message: #"must be "name@version" or a name (for its default version): 1-100 characters of a-z, 0-9, "-", "_" and ".", starting with a letter; got "ResNet Trainer""#),
                FieldProblem(field: "priority_class", message: #"must be one of critical, high, normal, low, batch; got "urgent""#),
                FieldProblem(field: "replicas", message: "must be an integer between 1 and 1024, got 0"),
                FieldProblem(field: "resources.gpus", message: "must be an integer between 0 and 64, got 128"),
                FieldProblem(field: "resources.memory_gb", message: #"unknown field (did you mean "memory_gib"?)"#),
                FieldProblem(field: "max_runtime", message: #"must be a duration such as "30m", "6h" or a number of seconds, got "soon""#),
                FieldProblem(field: "checkpoint_interval", message: #"must be between 1m and 30d, got "30s""#),
                FieldProblem(field: "retry.retry_on[1]", message: #"must be one of node_lost, preempted, stalled, exit_nonzero; got "oom""#),
                FieldProblem(
                    field: "depends_on[0]", message: #"must be a job id (a UUID such as "6f1c1a52-1b1e-4c36-9a52-8f0c2a1b9e01"), got "job-1234""#),
            ])
    }

    // MARK: Durations

    @Test(
        "Durations are seconds or unit strings",
        arguments: [
            (JSONValue.string("1h30m"), 5400), (.number(90), 90), (.string("2d"), 172_800), (.string("90s"), 90),
            (.string("1d12h"), 129_600), (.string("30m"), 1800), (.string("1d2h3m4s"), 93_784), (.number(3600.0), 3600),
        ] as [(JSONValue, Int)])
    func validDurations(value: JSONValue, seconds: Int) {
        let outcome = JobSpecDecoder.decode(.object(["tenant": .string("acme"), "agent": .string("a@1"), "max_runtime": value]))
        guard case .decoded(let spec, let problems) = outcome else {
            Issue.record("expected decoded, got \(outcome)")
            return
        }
        #expect(problems == [])
        #expect(spec.maxRuntimeSeconds == seconds)
    }

    @Test(
        "Durations that do not parse, or fall outside the bounds, are problems",
        arguments: [
            (JSONValue.string("0s"), #"must be between 1m and 30d, got "0s""#),
            (.number(30), "must be between 1m and 30d, got 30 seconds"),
            (.number(-60), "must be between 1m and 30d, got -60 seconds"),
            (.number(3_000_000), "must be between 1m and 30d, got 3000000 seconds (34d17h20m)"),
            (.string("soon"), #"must be a duration such as "30m", "6h" or a number of seconds, got "soon""#),
            (.string("30m1h"), #"must be a duration such as "30m", "6h" or a number of seconds, got "30m1h""#),
            (.string("1.5h"), #"must be a duration such as "30m", "6h" or a number of seconds, got "1.5h""#),
            (.string("3600"), #"must be a duration such as "30m", "6h" or a number of seconds, got "3600""#),
            (.string(""), #"must be a duration such as "30m", "6h" or a number of seconds, got """#),
            (.number(90.5), #"must be a whole number of seconds or a duration such as "30m" or "6h", got 90.5"#),
            (.string("99999999999999999999999d"), #"must be between 1m and 30d, got "99999999999999999999999d""#),
        ] as [(JSONValue, String)])
    func invalidDurations(value: JSONValue, message: String) {
        let outcome = JobSpecDecoder.decode(.object(["tenant": .string("acme"), "agent": .string("a@1"), "max_runtime": value]))
        #expect(outcome.problems == [FieldProblem(field: "max_runtime", message: message)])
    }

    @Test("checkpoint_interval may not exceed max_runtime, given or default")
    func checkpointCeiling() {
        #expect(
            problemsOf(#"{"tenant": "acme", "agent": "a@1", "max_runtime": "6h", "checkpoint_interval": "8h"}"#)
                == [FieldProblem(field: "checkpoint_interval", message: #"must be between 1m and max_runtime (6h), got "8h""#)])
        #expect(
            problemsOf(#"{"tenant": "acme", "agent": "a@1", "checkpoint_interval": "2d"}"#)
                == [FieldProblem(field: "checkpoint_interval", message: #"must be between 1m and max_runtime (1d by default), got "2d""#)])
        #expect(problemsOf(#"{"tenant": "acme", "agent": "a@1", "max_runtime": "6h", "checkpoint_interval": "6h"}"#) == [])
    }

    @Test("Backoff may be zero")
    func zeroBackoff() {
        guard case .decoded(let spec, let problems) = decode(#"{"tenant": "acme", "agent": "a@1", "retry": {"backoff": 0, "retry_on": []}}"#) else {
            Issue.record("expected decoded")
            return
        }
        #expect(problems == [])
        #expect(spec.retry == RetryPolicy(maxAttempts: 3, backoffSeconds: 0, retryOn: []))
    }

    @Test("DurationText formats the way it parses", arguments: [(0, "0s"), (59, "59s"), (60, "1m"), (5400, "1h30m"), (86_400, "1d"), (93_784, "1d2h3m4s")])
    func durationText(seconds: Int, text: String) {
        #expect(DurationText.format(seconds) == text)
        #expect(DurationText.seconds(from: text) == seconds)
    }

    @Test("DurationText refuses what is not a duration", arguments: ["", "1", "h", "1h1h", "30m1h", "1H", "1 h", "1h 30m", "-1h", "1.5h", "1w", "1hm"])
    func notDurations(text: String) {
        #expect(DurationText.seconds(from: text) == nil)
    }

    // MARK: Unknown fields

    @Test(
        "Unknown fields suggest the nearest allowed key within edit distance 2",
        arguments: [
            (#""max_runtme": "1h""#, "max_runtme", #"unknown field (did you mean "max_runtime"?)"#),
            (#""priorityClass": "high""#, "priorityClass", #"unknown field (did you mean "priority_class"?)"#),
            (#""Tenant": "acme""#, "Tenant", #"unknown field (did you mean "tenant"?)"#),
            (#""lables": {}"#, "lables", #"unknown field (did you mean "labels"?)"#),
            (#""colour": "blue""#, "colour", "unknown field"),
            (#""agent_version": "1.0""#, "agent_version", "unknown field"),
            (#""resources": {"gpu": 1}"#, "resources.gpu", #"unknown field (did you mean "gpus"?)"#),
            (#""retry": {"max_attempt": 2}"#, "retry.max_attempt", #"unknown field (did you mean "max_attempts"?)"#),
            (#""curriculum": [{"name": "a", "advance_when": {"metric": "m", "at_lest": 1, "at_most": 2}}]"#,
             "curriculum[0].advance_when.at_lest", #"unknown field (did you mean "at_least"?)"#),
        ])
    func unknownField(extra: String, field: String, message: String) {
        #expect(problemsOf(#"{"tenant": "acme", "agent": "a@1", \#(extra)}"#) == [FieldProblem(field: field, message: message)])
    }

    // MARK: Collections

    @Test("Curriculum, depends_on and labels have size limits")
    func sizeLimits() {
        let stages = (0..<33).map { JSONValue.object(["name": .string("s\($0)")]) }
        let ids = (0..<33).map { _ in JSONValue.string(UUID().uuidString) }
        let labels = Dictionary(uniqueKeysWithValues: (0..<65).map { ("k\($0)", JSONValue.string("v")) })
        let outcome = JobSpecDecoder.decode(
            .object(["tenant": .string("acme"), "agent": .string("a@1"), "curriculum": .array(stages), "depends_on": .array(ids), "labels": .object(labels)]))
        #expect(
            outcome.problems == [
                FieldProblem(field: "curriculum", message: "must have at most 32 stages, got 33"),
                FieldProblem(field: "depends_on", message: "must list at most 32 jobs, got 33"),
                FieldProblem(field: "labels", message: "must have at most 64 labels, got 65"),
            ])
    }

    // MARK: Examples

    @Test("The JSON example in examples/jobs is a valid spec")
    func jsonExample() throws {
        let outcome = JobSpecDecoder.decode(try Data(contentsOf: repositoryFile("examples/jobs/nightly-eval-batch.json")))
        guard case .decoded(let spec, let problems) = outcome else {
            Issue.record("expected decoded, got \(outcome)")
            return
        }
        #expect(problems == [])
        #expect(spec.priorityClass == .batch)
        #expect(spec.dependsOn.count == 1)
    }

    @Test("The full example in docs/job-spec.md is a valid spec")
    func documentedExample() throws {
        let text = try String(contentsOf: repositoryFile("docs/job-spec.md"), encoding: .utf8)
        let start = try #require(text.range(of: "```json\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let outcome = decode(String(text[start.upperBound..<end.lowerBound]))
        guard case .decoded(let spec, let problems) = outcome else {
            Issue.record("expected decoded, got \(outcome)")
            return
        }
        #expect(problems == [])
        #expect(spec.curriculum.count == 2)
    }

    // MARK: Helpers

    private func repositoryFile(_ path: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(path)
    }

    private func decode(_ json: String) -> JobSpecDecoder.Outcome {
        JobSpecDecoder.decode(Data(json.utf8))
    }

    /// The problems of a well-typed body (records an issue if the body is malformed).
    private func problemsOf(_ json: String, sourceLocation: SourceLocation = #_sourceLocation) -> [FieldProblem] {
        let outcome = decode(json)
        guard case .decoded(_, let problems) = outcome else {
            Issue.record("expected a well-typed body, got \(outcome)", sourceLocation: sourceLocation)
            return []
        }
        return problems
    }
}

extension JobSpecDecoder.Outcome {
    /// For tests: the non-type problems, or the type problems when malformed.
    fileprivate var problems: [FieldProblem] {
        switch self {
        case .malformed(let problems): problems
        case .decoded(_, let problems): problems
        }
    }
}

