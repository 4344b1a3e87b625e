import AgentCore
import Foundation

/// fake_cluster.py on 127.0.0.1, one per test: a simulated Kubernetes API server whose Jobs get
/// pods that run a scripted "program" (the `FAKE_SCRIPT` variable of the container's env; see the
/// script's docstring). It records every request, and it exits when this object goes (its stdin
/// closes) or after 300 s.
final class FakeCluster: @unchecked Sendable {  // immutable after init; the record file is append-only
    static let token = "fake-cluster-token"
    let port: Int
    private let process = Process()
    private let input = Pipe()
    private let directory: String
    private let recordPath: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-cluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        recordPath = directory + "/requests.jsonl"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_cluster.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-B", script, Self.token, recordPath]
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // it exited
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard text.hasPrefix("PORT "), let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            try? input.fileHandleForWriting.close()
            throw FakeClusterError(message: "fake_cluster.py did not start: \(text)")
        }
        self.port = port
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// What it received so far, oldest first: `{"method", "path", "query": {name: value}, "body"}`.
    func requests() throws -> [JSONValue] {
        guard let text = try? String(contentsOfFile: recordPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
    }

    /// Writes a kubeconfig (this server, the token, `namespace` as the context's) and returns its
    /// path: for AGENTMGR_KUBECONFIG.
    func kubeconfig(namespace: String) throws -> String {
        let path = directory + "/kubeconfig-\(namespace).yaml"
        let yaml = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: fake
              cluster:
                server: "\(url)"
            users:
            - name: fake
              user:
                token: "\(Self.token)"
            contexts:
            - name: fake
              context:
                cluster: fake
                user: fake
                namespace: "\(namespace)"
            current-context: fake

            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

struct FakeClusterError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
