import AgentCore
import Foundation

/// fake_apiserver.py on 127.0.0.1, one per test: it records every request it gets, and it exits
/// when this object goes (its stdin closes) or after 120 s.
final class FakeAPIServer {
    static let token = "s3cret-token"
    let port: Int
    let scheme: String
    private let process = Process()
    private let input = Pipe()
    private let recordPath: String

    /// `tls`: serve HTTPS with this certificate and key, and require a client certificate signed by `clientCA`.
    init(tls: (certificate: String, key: String, clientCA: String)? = nil) throws {
        recordPath = try temporaryDirectory() + "/requests.jsonl"
        scheme = tls == nil ? "http" : "https"
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fake_apiserver.py").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, Self.token, recordPath] + (tls.map { [$0.certificate, $0.key, $0.clientCA] } ?? [])
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
            throw FakeServerError(message: "fake_apiserver.py did not start: \(text)")
        }
        self.port = port
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }

    func client(token: String = FakeAPIServer.token) -> KubernetesClientFactory { KubernetesClientFactory(server: url, token: token) }

    /// What it received so far, oldest first.
    func requests() throws -> [JSONValue] {
        guard let text = try? String(contentsOfFile: recordPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
    }
}

struct FakeServerError: Error {
    var message: String
}
