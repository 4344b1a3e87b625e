import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The local process backend: the agent version's `command` through `/bin/sh -c` in the run's
/// directory, in its own process group (`ChildProcess`), with the launch environment on top of
/// an allowlist of the agent's own.
struct LocalProcessLauncher: RunLauncher {
    var name: String { "local" }

    func describe(_ request: LaunchRequest) -> String { request.info.command ?? "" }

    func checkpointDirectory(jobID: UUID, local: String) -> String { local }

    func launch(_ request: LaunchRequest) throws -> any RunProcess {
        guard let command = request.info.command, !command.isEmpty else {
            throw LaunchRefused(
                "the agent version has no command; the local process backend runs commands "
                    + "(image \(request.info.image ?? "-") needs the Kubernetes backend)")
        }
        return try ChildProcess.spawn(
            command: command, directory: request.runDirectory,
            environment: Self.inheritedEnvironment().merging(request.environment.variables) { $1 }, stdout: request.stdoutPath,
            stderr: request.stderrPath)
    }

    /// Its process group may outlive the agent that started it: stopped if still there, after
    /// checking (its environment names the run) that the pid was not reused.
    func stopOrphan(_ run: RunStore.Orphan) {
        guard let pid = run.pid, let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
            String(decoding: environ, as: UTF8.self).contains("RUN_ID=\(run.runID.uuidString.lowercased())")
        else { return }
        _ = kill(-pid_t(pid), SIGKILL)
    }

    /// What a training program inherits from the agent: an allowlist (where programs and
    /// libraries are, locale, time zone), never the agent's configuration or anything else that
    /// may carry credentials (broker and database URLs, cloud tokens).
    static func inheritedEnvironment() -> [String: String] {
        let names: Set<String> = [
            "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV",
            "CONDA_PREFIX", "PYENV_ROOT", "PYENV_VERSION",
        ]
        return ProcessInfo.processInfo.environment.filter { names.contains($0.key) || $0.key.hasPrefix("LC_") }
    }
}
