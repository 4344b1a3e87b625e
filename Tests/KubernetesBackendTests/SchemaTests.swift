import AgentCore
import Foundation
import Testing

@testable import KubernetesBackend

/// The rendered objects against the real `batch/v1` and `v1` schemas of Kubernetes 1.30, in
/// strict mode (an unknown field is an error), with the Python package kubernetes-validate that
/// `make test` installs into .data/pylib. Without it the suite fails: it never passes unchecked.
@Suite("Rendered manifests against the Kubernetes API schema")
struct SchemaTests {
    @Test("Every object rendered for single replicas and gangs is valid")
    func renderedObjectsAreValid() throws {
        var withCommand = Fixtures.gang(nodes: ["gpu-node-1", "gpu-node-2", "gpu-node-1"])
        withCommand.command = "torchrun train.py"
        var small = Fixtures.single()
        small.resources = .init(gpus: 0, cpuCores: 0.25, memoryGiB: 1.5)
        small.command = nil
        var retry = Fixtures.gang()
        retry.attempt = 3
        retry.runIDs = []
        let requests: [(String, KubernetesJobRequest)] = [
            ("single", Fixtures.single()), ("gang on two nodes", Fixtures.gang()),
            ("gang on one node", Fixtures.gang(nodes: ["gpu-node-1", "gpu-node-1"])), ("gang sharing a node, with a command", withCommand),
            ("no GPU, fractional resources", small), ("gang, third retry, runs unknown", retry),
        ]
        var entries: [(String, JSONValue)] = []
        for (label, request) in requests {
            for object in try JobManifest.render(request) {
                entries.append(("\(label): \(object["kind"].flatMap(\.text) ?? "?")", object))
            }
        }
        #expect(entries.count == 10)
        guard let results = try SchemaValidator.validate(entries) else { return }
        #expect(results.count == entries.count)
        for result in results {
            #expect(result.valid, "\(result.name) does not match the schema: \(result.error)")
        }
    }

    @Test("The check bites: broken manifests are rejected")
    func brokenManifestsAreRejected() throws {
        let job = try JobManifest.render(Fixtures.single())[0]
        let service = try JobManifest.render(Fixtures.gang())[1]
        // What each must be rejected for, as kubernetes-validate words it.
        let broken: [(String, JSONValue, String)] = [
            (
                "misspelled pod field", job.setting(["spec", "template", "spec", "restartPolicyy"], "Never"),
                "'restartPolicyy' was unexpected"
            ),
            ("misspelled Job field", job.setting(["spec", "backofLimit"], 0), "'backofLimit' was unexpected"),
            ("deadline as text", job.setting(["spec", "activeDeadlineSeconds"], "7200"), "is not of type 'integer'"),
            ("no containers", job.setting(["spec", "template", "spec", "containers"], nil), "'containers' is a required property"),
            ("misspelled Service field", service.setting(["spec", "clusterIp"], "None"), "'clusterIp' was unexpected"),
        ]
        guard let results = try SchemaValidator.validate(broken.map { ($0.0, $0.1) }) else { return }
        #expect(results.count == broken.count)
        for (result, (name, _, reason)) in zip(results, broken) {
            #expect(!result.valid, "\(name) was accepted")
            #expect(result.error.contains(reason), "\(name) rejected for another reason: \(result.error)")
        }
    }
}

/// Runs validate_manifests.py with the PYTHONPATH where kubernetes-validate was installed.
enum SchemaValidator {
    struct Result {
        var name: String
        var valid: Bool
        var error: String
    }

    static let variable = "AGENTMGR_K8S_VALIDATOR_PYTHONPATH"

    /// nil (and a recorded failure) when the validator is not installed.
    static func validate(_ entries: [(String, JSONValue)]) throws -> [Result]? {
        try run(arguments: [], input: .array(entries.map { ["name": .string($0.0), "object": $0.1] }))
    }

    /// The objects in a Markdown file's yaml blocks.
    static func validate(markdown path: String) throws -> [Result]? { try run(arguments: ["--markdown", path], input: .array([])) }

    private static func run(arguments: [String], input request: JSONValue) throws -> [Result]? {
        guard let pythonPath = ProcessInfo.processInfo.environment[variable], !pythonPath.isEmpty else {
            Issue.record(
                """
                \(variable) is not set, so the manifests cannot be checked against the Kubernetes schema. \
                Run `make test` (it installs kubernetes-validate into .data/pylib and sets it), or: \
                python3 -m pip install --target .data/pylib kubernetes-validate && export \(variable)=$PWD/.data/pylib
                """)
            return nil
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("validate_manifests.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = pythonPath
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(request.serialized())
        try input.fileHandleForWriting.close()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let value = try? JSONValue.parse(stdout), case .array(let list) = value else {
            Issue.record("validate_manifests.py failed (exit \(process.terminationStatus)): \(stderr)")
            return nil
        }
        return list.map {
            Result(name: $0["name"].flatMap(\.text) ?? "", valid: $0["valid"] == true, error: $0["error"].flatMap(\.text) ?? "")
        }
    }
}

extension JSONValue {
    /// A copy with the member at `path` set (nil removes it).
    func setting(_ path: [String], _ value: JSONValue?) -> JSONValue {
        guard let key = path.first, case .object(var members) = self else { return self }
        if path.count == 1 {
            members[key] = value
        } else {
            members[key] = (members[key] ?? .object([:])).setting(Array(path.dropFirst()), value)
        }
        return .object(members)
    }
}
