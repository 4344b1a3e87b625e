import CProcessControl
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A replica's process: `/bin/sh -c` with the agent version's command, in its own process group
/// (so a signal reaches the shell and everything it started), stdout and stderr into files.
/// A class: the exit status can be collected only once, and whoever polls first must keep it.
final class ChildProcess: RunProcess {
    typealias Status = RunStatus
    let leader: pid_t
    private var ended: Status?

    init(pid: pid_t) {
        self.leader = pid
    }

    var pid: Int32? { leader }

    static func spawn(command: String, directory: String, environment: [String: String], stdout: String, stderr: String) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // A fresh log per run: the supervisor reads it from the start.
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group; no blocked signals and default handlers: the agent's threads block
        // some, and an inherited mask would make SIGTERM (checkpoint and stop) a no-op.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

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
        _ = becameSubreaper
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard status == 0 else { throw NodeAgentError("cannot start /bin/sh: \(String(cString: strerror(status)))") }
        return ChildProcess(pid: pid)
    }

    /// How the run stands, never blocking: it runs while anything of its process group is alive
    /// (a shell's children outlive the shell when it is signalled); it ended with the status of
    /// the process it started.
    func poll() -> Status {
        let leader = reapLeader()
        guard leader != .running else { return .running }
        // Reap what is left of the group (re-parented to the agent), then see if anything lives.
        var status: Int32 = 0
        while waitpid(-self.leader, &status, WNOHANG) > 0 {}
        guard Self.becameSubreaper else { return leader }  // cannot reap orphans: the leader decides
        return kill(-self.leader, 0) == 0 ? .running : leader
    }

    /// SIGKILL to the group, then wait (at most `timeout`) until it is gone and reaped.
    func killAndWait(timeout: Duration) {
        signal(SIGKILL)
        let deadline = ContinuousClock.now + timeout
        while poll() == .running, ContinuousClock.now < deadline { usleep(20_000) }
    }

    /// Once per agent: orphaned descendants (a program whose shell was signalled first) are
    /// re-parented to the agent, so `poll` can reap them and a run's end is seen.
    static let becameSubreaper: Bool = agentmgr_become_child_subreaper() == 0

    private func reapLeader() -> Status {
        if let ended { return ended }
        var status: Int32 = 0
        let result = waitpid(leader, &status, WNOHANG)
        if result == 0 { return .running }
        guard result == leader else {
            guard errno == ECHILD else { return .running }  // EINTR: ask again next time
            ended = .exited(code: -1)  // reaped elsewhere: the status is unknown, but it has ended
            return ended!
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        let outcome: Status = status & 0x7f == 0 ? .exited(code: (status >> 8) & 0xff) : .signalled(status & 0x7f)
        ended = outcome
        return outcome
    }

    /// Signals the whole process group. Its id cannot be reused while any member lives; once it
    /// is empty the call fails harmlessly (ESRCH).
    func signal(_ signal: Int32) {
        _ = kill(-leader, signal)
    }
}
