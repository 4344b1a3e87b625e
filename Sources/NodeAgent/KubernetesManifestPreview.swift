import AgentCore
import Foundation
import KubernetesBackend
import Postgres

/// `agentctl jobs manifest JOB`: the Kubernetes objects a placed job's stage becomes on a node
/// agent with the Kubernetes backend, rendered from the database without a cluster (a dry run,
/// for review or for `kubectl apply` by hand).
public enum KubernetesManifestPreview {
    public struct PreviewError: Error, CustomStringConvertible, Sendable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public static func render(
        jobID: UUID, stage: Int = 0, attempt: Int = 0, namespace: String = "default", checkpointRoot: String = "/checkpoints",
        gracePeriodSeconds: Int = 10, in db: PostgresConnection
    ) throws -> [JSONValue] {
        let job = jobID.uuidString.lowercased()
        guard let info = try RunStore.launchInfo(jobID: jobID, in: db) else { throw PreviewError("job \(job) does not exist") }
        guard let image = info.image, !image.isEmpty else {
            throw PreviewError("job \(job) runs an agent version without an image (command \(info.command ?? "-")): the local process backend runs it")
        }
        let nodes = try db.query(
            "SELECT node_id FROM allocations WHERE job_id = $1 AND released_at IS NULL ORDER BY replica", [jobID]
        ).map { try $0.decode(0, as: String.self) }
        guard !nodes.isEmpty else {
            throw PreviewError("job \(job) is not placed on nodes now (agentctl jobs why \(job)): its Job names the nodes it runs on")
        }
        guard stage == 0 || info.curriculum.indices.contains(stage) else {
            throw PreviewError("--stage \(stage): the job has \(max(1, info.curriculum.count)) stage(s), numbered from 0")
        }
        let step = info.curriculum.indices.contains(stage) ? info.curriculum[stage] : nil
        let run = RunStore.StartingRun(
            runID: RunStore.runID(jobID: jobID, attempt: attempt, stage: stage, rank: 0), jobID: jobID, rank: 0, nodes: nodes, stage: stage,
            attempt: attempt, resumeFrom: nil)
        let environment = LaunchEnvironment(
            jobID: jobID, runID: run.runID, rank: 0, nodes: nodes, addresses: nodes, checkpointDirectory: "\(checkpointRoot)/\(job)",
            resumeFrom: try RunStore.latestCheckpoint(jobID: jobID, in: db).map(Supervisor.path(ofFileURI:)),
            parameters: step?.parameters ?? .object([:]))
        let request = LaunchRequest(
            run: run, info: info, environment: environment, runDirectory: "", maxRuntimeSeconds: step?.maxRuntimeSeconds ?? info.maxRuntimeSeconds)
        do {
            return try JobManifest.render(
                KubernetesLauncher.jobRequest(request, image: image, namespace: namespace, gracePeriodSeconds: gracePeriodSeconds))
        } catch {
            throw PreviewError("\(error)")
        }
    }
}
