import Foundation
import KubernetesBackend
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One rank's pod of a Kubernetes Job, as the supervisor watches it: its status from the API (at
/// most every `refresh`), its log streamed into the run's stdout.log by a thread of its own.
/// It has ended only when its container terminated *and* its log was read to the end, so the
/// supervisor sees the last progress lines before the end. Stopping deletes the Job (SIGTERM:
/// with the grace period; SIGKILL: at once), which ends every rank's pod.
final class KubernetesRun: RunProcess, @unchecked Sendable {
    let client: KubernetesClient
    let namespace: String
    let jobName: String
    let rank: Int
    let stdoutPath: String
    let gracePeriodSeconds: Int
    let logger: Logger
    let refresh: Duration

    private struct Shared {
        var podName: String?
        var logEnded = false
        var stopLog = false
    }

    private let shared = Mutex(Shared())
    // Only the supervisor's thread touches these.
    private var lastPoll: ContinuousClock.Instant?
    private var status: RunStatus = .running
    private var terminatedAt: ContinuousClock.Instant?
    private var signalSent: Int32?
    private var logThreadStarted = false

    init(
        client: KubernetesClient, namespace: String, jobName: String, rank: Int, stdoutPath: String, gracePeriodSeconds: Int, logger: Logger,
        refresh: Duration = .seconds(1)
    ) {
        self.client = client
        self.namespace = namespace
        self.jobName = jobName
        self.rank = rank
        self.stdoutPath = stdoutPath
        self.gracePeriodSeconds = gracePeriodSeconds
        self.logger = logger
        self.refresh = refresh
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)  // read before the pod prints anything
    }

    var pid: Int32? { nil }

    func poll() -> RunStatus {
        guard status == .running else { return status }
        let now = ContinuousClock.now
        if lastPoll.map({ now - $0 >= refresh }) ?? true {
            lastPoll = now
            refreshStatus(now: now)
        }
        guard let ended = terminatedAt else { return .running }
        // The log thread appends what the pod printed last; wait for it (at most 10 s).
        let logEnded = shared.withLock { $0.logEnded }
        guard logEnded || now - ended >= .seconds(10) || !logThreadStarted else { return .running }
        shared.withLock { $0.stopLog = true }
        return status == .running ? .running : status
    }

    private func refreshStatus(now: ContinuousClock.Instant) {
        let pods: [KubernetesPod]
        do {
            pods = try client.pods(ofJob: jobName, namespace: namespace)
        } catch {
            logger.warning("cannot read the pods of a Kubernetes job", metadata: ["job": "\(namespace)/\(jobName)", "error": "\(error)"])
            return
        }
        // The newest pod of this rank (a Job with backoffLimit 0 makes one).
        guard let pod = pods.last(where: { $0.completionIndex == rank }) else {
            if let signalSent {  // deleted, as asked: ended by that signal
                finish(.signalled(signalSent), now: now)
            } else if (try? client.jobStatus(name: jobName, namespace: namespace)) == .some(nil) {
                finish(.exited(code: -1), now: now)  // the Job is gone and nobody here deleted it
            }
            return
        }
        if !logThreadStarted, pod.phase != "Pending" || pod.terminated {
            startLogThread(pod: pod.name)
        }
        guard pod.terminated else { return }
        if let signal = pod.signal {
            finish(.signalled(Int32(signal)), now: now)
        } else {
            finish(.exited(code: Int32(pod.exitCode ?? -1)), now: now)
        }
    }

    private func finish(_ ended: RunStatus, now: ContinuousClock.Instant) {
        guard terminatedAt == nil else { return }
        terminatedAt = now
        status = ended
    }

    private func startLogThread(pod: String) {
        logThreadStarted = true
        shared.withLock { $0.podName = pod }
        let thread = Thread { [self] in streamLog(pod: pod) }
        thread.name = "log \(pod)"
        thread.start()
    }

    /// Follows the pod's log into stdout.log; a broken stream is resumed where it stopped.
    private func streamLog(pod: String) {
        var written = 0
        while !shared.withLock({ $0.stopLog }) {
            do {
                written += try client.streamLogs(pod: pod, namespace: namespace, to: stdoutPath, skippingBytes: written) {
                    self.shared.withLock { $0.stopLog }
                }
                break  // the log ended: the container has exited
            } catch {
                // Not started yet, or the connection broke: try again shortly.
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        shared.withLock { $0.logEnded = true }
    }

    func signal(_ signal: Int32) {
        signalSent = signal
        let grace = signal == SIGKILL ? 0 : gracePeriodSeconds
        do {
            try client.delete(job: jobName, namespace: namespace, gracePeriodSeconds: grace)
        } catch {
            logger.error("cannot delete a Kubernetes job", metadata: ["job": "\(namespace)/\(jobName)", "error": "\(error)"])
        }
    }

    func killAndWait(timeout: Duration) {
        signal(SIGKILL)
        let deadline = ContinuousClock.now + timeout
        while poll() == .running, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
        shared.withLock { $0.stopLog = true }
    }
}
