import Foundation

/// How a run is going, as the supervisor sees it (a process, or a Kubernetes pod).
enum RunStatus: Equatable {
    case running
    case exited(code: Int32)
    case signalled(Int32)
}

/// A launched replica the supervisor watches, whatever runs it. Its stdout (progress protocol
/// included) goes to the run's `stdout.log`, where the supervisor reads it.
protocol RunProcess: AnyObject {
    /// The process group leader (local backend); nil when the replica is not a local process.
    var pid: Int32? { get }
    /// Never blocks.
    func poll() -> RunStatus
    /// SIGTERM asks it to stop (it may checkpoint first), SIGKILL ends it now.
    func signal(_ signal: Int32)
    /// Ends it now and waits (at most `timeout`) until it is gone.
    func killAndWait(timeout: Duration)
}

extension RunProcess {
    func killAndWait() { killAndWait(timeout: .seconds(5)) }
}

/// What a launcher gets to start one replica.
struct LaunchRequest {
    var run: RunStore.StartingRun
    var info: RunStore.LaunchInfo
    var environment: LaunchEnvironment
    /// Where its logs go: `stdout.log` (read for the progress protocol) and `stderr.log`.
    var runDirectory: String
    /// The stage's max runtime, else the job's.
    var maxRuntimeSeconds: Int
    var stdoutPath: String { "\(runDirectory)/stdout.log" }
    var stderrPath: String { "\(runDirectory)/stderr.log" }
}

/// Starts replicas: as local processes (`LocalProcessLauncher`) or as Kubernetes Jobs
/// (`KubernetesLauncher`). `launch` throws `LaunchRefused` when this backend cannot run the
/// agent version at all (the run fails with that reason), other errors when starting failed.
protocol RunLauncher: Sendable {
    /// `local` or `kubernetes` (runs.backend, node_agents.backend).
    var name: String { get }
    /// What `runs.command` records for the run (the command, or the Job it became).
    func describe(_ request: LaunchRequest) -> String
    func launch(_ request: LaunchRequest) throws -> any RunProcess
    /// CHECKPOINT_DIR for the job's runs, as the program sees it (`local`: the node's directory).
    func checkpointDirectory(jobID: UUID, local: String) -> String
    /// A run a previous agent of this node started and lost track of: make sure it is gone.
    func stopOrphan(_ run: RunStore.Orphan)
}

struct LaunchRefused: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
