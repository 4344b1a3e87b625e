import AgentCore
import Foundation
import Testing
import Yams

@testable import KubernetesBackend

/// docs/kubernetes-backend.md shows what the backend renders and the RBAC it needs: both are checked.
@Suite("The Kubernetes backend's documentation")
struct DocumentationTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/kubernetes-backend.md")
        .standardizedFileURL.path

    /// The objects of each ```yaml block, in order.
    static func blocks() throws -> [[JSONValue]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.components(separatedBy: "```yaml\n").dropFirst().map { chunk in
            let block = chunk.components(separatedBy: "```")[0]
            return try Yams.load_all(yaml: block).map(jsonValue)
        }
    }

    @Test("The example is exactly what the backend renders for it")
    func exampleIsRendered() throws {
        var gang = Fixtures.gang()
        gang.command = "torchrun --nnodes $WORLD_SIZE train.py"
        let example = try #require(try Self.blocks().first)
        let rendered = try JobManifest.render(gang)
        #expect(example.count == rendered.count)
        for (shown, made) in zip(example, rendered) {
            let difference = shown.difference(from: made)
            #expect(
                difference == nil, "the documented \(shown["kind"].flatMap(\.text) ?? "?") is not what is rendered: \(difference ?? "")")
        }
    }

    @Test("Every manifest in it (the example, the RBAC) passes the Kubernetes schema")
    func manifestsAreValid() throws {
        guard let results = try SchemaValidator.validate(markdown: Self.path) else { return }
        #expect(results.count == 5)  // Job, Service, ServiceAccount, Role, RoleBinding
        for result in results {
            #expect(result.valid, "\(result.name): \(result.error)")
        }
    }
}

/// What Yams read, as JSON.
private func jsonValue(_ any: Any?) -> JSONValue {
    switch any {
    case let text as String: .string(text)
    case let flag as Bool: .bool(flag)
    case let number as Int: .number(Double(number))
    case let number as Double: .number(number)
    case let list as [Any]: .array(list.map(jsonValue))
    case let map as [String: Any]: .object(map.mapValues(jsonValue))
    default: .null
    }
}
