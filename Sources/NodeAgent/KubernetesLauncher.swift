import AgentCore
import Foundation
import KubernetesBackend
import Logging

/// The Kubernetes backend (docs/kubernetes-backend.md): a run's stage and attempt becomes a
/// `batch/v1` Job (an Indexed Job with a headless Service for a gang), created through the API.
/// Every rank's agent submits the same objects (same names; 409 counts as done), so it does not
/// matter which node's agent comes first; each then watches its own rank's pod and streams that
/// pod's log into the run's `stdout.log`, where the supervisor reads the progress protocol as for
/// a local process.
struct KubernetesLauncher: RunLauncher {
    let client: KubernetesClient
    let namespace: String
    /// Where checkpoints go inside the pods: `<root>/<job>` (a volume the image or cluster provides).
    let checkpointRoot: String
    let gracePeriod: Duration
    let logger: Logger

    var name: String { "kubernetes" }

    func describe(_ request: LaunchRequest) -> String {
        "kubernetes job \(namespace)/\(jobName(request.run.jobID, stage: request.run.stage, attempt: request.run.attempt)) index \(request.run.rank)"
    }

    func checkpointDirectory(jobID: UUID, local: String) -> String { "\(checkpointRoot)/\(jobID.uuidString.lowercased())" }

    func launch(_ request: LaunchRequest) throws -> any RunProcess {
        guard let image = request.info.image, !image.isEmpty else {
            throw LaunchRefused(
                "the agent version has no image; the Kubernetes backend runs container images (a version with only a command runs on "
                    + "a node agent with the local process backend)")
        }
        let run = request.run
        let objects: [JSONValue]
        do {
            objects = try JobManifest.render(
                Self.jobRequest(request, image: image, namespace: namespace, gracePeriodSeconds: Int(gracePeriod.components.seconds)))
        } catch { throw LaunchRefused("cannot render the Kubernetes Job: \(error)") }
        try client.submit(objects, namespace: namespace)
        let name = jobName(run.jobID, stage: run.stage, attempt: run.attempt)
        logger.info("kubernetes job submitted", metadata: ["job": "\(namespace)/\(name)", "rank": "\(run.rank)"])
        return KubernetesRun(
            client: client, namespace: namespace, jobName: name, rank: run.rank, stdoutPath: request.stdoutPath,
            gracePeriodSeconds: Int(gracePeriod.components.seconds), logger: logger)
    }

    /// The Job a launch becomes (also what `agentctl jobs manifest` shows).
    static func jobRequest(_ request: LaunchRequest, image: String, namespace: String, gracePeriodSeconds: Int) -> KubernetesJobRequest {
        let run = request.run
        return KubernetesJobRequest(
            jobID: run.jobID, tenant: request.info.tenant, stage: run.stage, attempt: run.attempt, namespace: namespace, nodes: run.nodes,
            runIDs: run.nodes.indices.map { RunStore.runID(jobID: run.jobID, attempt: run.attempt, stage: run.stage, rank: $0) },
            resources: .init(gpus: request.info.gpus, cpuCores: Double(request.info.cpu), memoryGiB: Double(request.info.memoryGiB)),
            image: image, command: request.info.command, maxRuntimeSeconds: request.maxRuntimeSeconds,
            masterPort: request.environment.masterPort,
            environment: request.environment.variables.filter { !KubernetesJobRequest.backendVariables.contains($0.key) },
            terminationGracePeriodSeconds: gracePeriodSeconds)
    }

    /// The Job of a run the previous agent lost track of goes: its end was recorded as `lost`
    /// and its capacity freed, so it must not go on running in the cluster.
    func stopOrphan(_ run: RunStore.Orphan) {
        let name = jobName(run.jobID, stage: run.stage, attempt: run.attempt)
        do {
            try client.delete(job: name, namespace: namespace, gracePeriodSeconds: Int(gracePeriod.components.seconds))
        } catch {
            logger.error("could not delete the Job of a lost run", metadata: ["job": "\(namespace)/\(name)", "error": "\(error)"])
        }
    }

    private func jobName(_ jobID: UUID, stage: Int, attempt: Int) -> String { JobManifest.name(jobID: jobID, stage: stage, attempt: attempt) }
}
