import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A replica's process: `/bin/sh -c` with the agent version's command, in its own process group
/// (so a signal reaches the shell and everything it started), stdout and stderr into files.
/// A class: the exit status can be collected only once, and whoever polls first must keep it.
final class ChildProcess {
    let pid: pid_t
    private var ended: Status?

    init(pid: pid_t) {
        self.pid = pid
    }

    enum Status: Equatable {
        case running
        case exited(code: Int32)
        case signalled(Int32)
    }

    static func spawn(command: String, directory: String, environment: [String: String], stdout: String, stderr: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o640)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        // The working directory through the shell: posix_spawn has no portable chdir action.
        let arguments = ["/bin/sh", "-c", "cd \"$AGENTMGR_RUN_DIR\" || exit 126\n" + command]
        var variables = environment
        variables["AGENTMGR_RUN_DIR"] = directory
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard status == 0 else { throw NodeAgentError("cannot start /bin/sh: \(String(cString: strerror(status)))") }
        return ChildProcess(pid: pid)
    }

    /// Reaps the process if it ended (never blocks); the same answer every time after that.
    func poll() -> Status {
        if let ended { return ended }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return .running }
        guard result == pid else {
            guard errno == ECHILD else { return .running }  // EINTR: ask again next time
            ended = .exited(code: -1)  // reaped elsewhere: the status is unknown, but it has ended
            return ended!
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let outcome: Status = status & 0x7f == 0 ? .exited(code: (status >> 8) & 0xff) : .signalled(status & 0x7f)
        ended = outcome
        return outcome
    }

    /// Signals the whole process group (not after it was reaped: the id may belong to someone else by then).
    func signal(_ signal: Int32) {
        guard ended == nil else { return }
        _ = kill(-pid, signal)
    }
}
