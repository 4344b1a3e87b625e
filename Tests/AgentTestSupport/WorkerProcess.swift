import Foundation

/// A real worker executable started by a test (built by `swift build`, which `make test` runs
/// before the tests), so that it can be killed like a production process.
public final class WorkerProcess: @unchecked Sendable {
    public let process = Process()
    public let logURL: URL

    public init(executable: String, environment: [String: String]) throws {
        let binary = Self.binDirectory().appendingPathComponent(executable)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw MissingExecutable(path: binary.path)
        }
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("\(executable)-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = binary
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    struct MissingExecutable: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) is missing: run `swift build` before `swift test` (make test does)" }
    }

    /// `AGENTMGR_BIN_DIR` if set, else `.build/debug` of this checkout.
    public static func binDirectory() -> URL {
        if let directory = ProcessInfo.processInfo.environment["AGENTMGR_BIN_DIR"], !directory.isEmpty {
            return URL(fileURLWithPath: directory)
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug")
    }

    public func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits; returns the exit status, or nil if it did not exit in time.
    public func terminate(timeout: Duration = .seconds(30)) -> Int32? {
        Foundation.kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill()
            return nil
        }
        return process.terminationStatus
    }

    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { kill() }
        try? FileManager.default.removeItem(at: logURL)
    }
}
