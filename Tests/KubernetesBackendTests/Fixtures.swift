import AgentCore
import Foundation

@testable import KubernetesBackend

/// Requests the tests render: one replica with one GPU, and a gang over two nodes.
enum Fixtures {
    static let jobID = UUID(uuidString: "0F8FAD5B-D9CB-469F-A165-70867728950E")!
    static let runs = [
        UUID(uuidString: "11111111-2222-4333-8444-555555555555")!, UUID(uuidString: "66666666-7777-4888-8999-AAAAAAAAAAAA")!,
        UUID(uuidString: "BBBBBBBB-CCCC-4DDD-8EEE-FFFFFFFFFFFF")!,
    ]
    static let name = "am-0f8fad5bd9cb469fa16570867728950e-s1"

    static func single() -> KubernetesJobRequest {
        KubernetesJobRequest(
            jobID: jobID, tenant: "vision", stage: 1, namespace: "training", nodes: ["gpu-node-1"], runIDs: [runs[0]],
            resources: .init(gpus: 1, cpuCores: 4, memoryGiB: 16), image: "registry.example/agents/gridworld:1.2",
            command: "python3 train.py --seed $$", maxRuntimeSeconds: 7200, masterPort: 29617,
            environment: [
                "CHECKPOINT_DIR": "/checkpoints/job", "AGENTMGR_PARAMETERS": #"{"lr":0.1}"#,
                "RESUME_FROM": "/checkpoints/job/ckpt-10.json",
            ])
    }

    /// Two replicas with 8 GPUs each on two nodes, no command (the image's entrypoint).
    static func gang(nodes: [String] = ["gpu-node-1", "gpu-node-2"]) -> KubernetesJobRequest {
        KubernetesJobRequest(
            jobID: jobID, tenant: "vision", stage: 1, namespace: "training", nodes: nodes, runIDs: Array(runs.prefix(nodes.count)),
            resources: .init(gpus: 8, cpuCores: 32, memoryGiB: 256), image: "registry.example/agents/llm:2.0",
            maxRuntimeSeconds: 86_400, masterPort: 29617,
            environment: ["CHECKPOINT_DIR": "/checkpoints/job", "AGENTMGR_PARAMETERS": "{}"])
    }

    /// The container's `env` as name → value (or "fieldRef:<path>"), and the names in list order.
    static func environment(of job: JSONValue) -> (values: [String: String], order: [String]) {
        guard case .array(let entries)? = container(of: job)["env"] else { return ([:], []) }
        var values: [String: String] = [:]
        var order: [String] = []
        for entry in entries {
            guard case .string(let name)? = entry["name"] else { continue }
            order.append(name)
            if case .string(let value)? = entry["value"] {
                values[name] = value
            } else if case .string(let path)? = entry["valueFrom"]?["fieldRef"]?["fieldPath"] {
                values[name] = "fieldRef:" + path
            }
        }
        return (values, order)
    }

    static func container(of job: JSONValue) -> JSONValue {
        guard case .array(let containers)? = podSpec(of: job)["containers"], let first = containers.first else { return .null }
        return first
    }

    static func podSpec(of job: JSONValue) -> JSONValue { job["spec"]?["template"]?["spec"] ?? .null }
}

extension JSONValue {
    /// Where two values first differ (`spec.template.spec.containers[0].env[3]: "a" ≠ "b"`), nil when equal:
    /// a readable failure instead of two whole manifests.
    func difference(from other: JSONValue, at path: String = "") -> String? {
        switch (self, other) {
        case (.object(let left), .object(let right)):
            for key in Set(left.keys).union(right.keys).sorted() {
                let here = path.isEmpty ? key : "\(path).\(key)"
                guard let l = left[key], let r = right[key] else { return "\(here): only on one side" }
                if let found = l.difference(from: r, at: here) { return found }
            }
            return nil
        case (.array(let left), .array(let right)):
            for (index, (l, r)) in zip(left, right).enumerated() {
                if let found = l.difference(from: r, at: "\(path)[\(index)]") { return found }
            }
            return left.count == right.count ? nil : "\(path): \(left.count) elements ≠ \(right.count)"
        default:
            return self == other
                ? nil : "\(path): \(String(decoding: serialized(), as: UTF8.self)) ≠ \(String(decoding: other.serialized(), as: UTF8.self))"
        }
    }
}
