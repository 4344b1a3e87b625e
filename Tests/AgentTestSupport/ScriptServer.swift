import AgentCore
import Foundation

/// A Python test server (the Kubernetes API fakes) on 127.0.0.1, one per test: `python3 -B SCRIPT
/// ARGUMENTS`, where it prints `PORT <n>` once listening, appends every request it gets to
/// `recordPath` as a JSON line, and exits when this object goes (its stdin closes).
public final class ScriptServer: @unchecked Sendable {  // immutable after init; the record file is append-only
    public let port: Int
    public let directory: String
    public let recordPath: String
    private let process = Process()
    private let input = Pipe()

    /// `arguments` gets the record file's path substituted for `recordPlaceholder`.
    public static let recordPlaceholder = "{record}"

    public init(script: String, arguments: [String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("script-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let record = directory + "/requests.jsonl"
        recordPath = record
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-B", script] + arguments.map { $0 == Self.recordPlaceholder ? record : $0 }
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
            throw ScriptServerError(message: "\(URL(fileURLWithPath: script).lastPathComponent) did not start: \(text)")
        }
        self.port = port
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// What it received so far, oldest first.
    public func requests() throws -> [JSONValue] {
        guard let text = try? String(contentsOfFile: recordPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
    }
}

public struct ScriptServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
