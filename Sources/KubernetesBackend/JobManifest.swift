import AgentCore
import Foundation

/// A placement as Kubernetes objects: a `batch/v1` Job for one replica; for a gang, an Indexed Job
/// (one pod per rank, the rank being the completion index) and the headless Service that gives
/// each pod a DNS name, `<job>-<index>.<service>`. Pure: `KubernetesClient.submit` creates them.
public enum JobManifest {
    public static let containerName = "main"
    /// Set by the Job controller on its pods (Kubernetes 1.27+).
    public static let jobNameLabel = "batch.kubernetes.io/job-name"
    /// Set by the Job controller on each pod of an Indexed Job: its index, 0 ..< completions.
    public static let completionIndexAnnotation = "batch.kubernetes.io/job-completion-index"
    /// The runs a Job was created for, rank order (for people and tools reading the cluster).
    public static let runIDsAnnotation = "agentmgr.io/run-ids"
    public static let jobIDLabel = "agentmgr.io/job-id"
    public static let tenantLabel = "agentmgr.io/tenant"
    public static let stageLabel = "agentmgr.io/stage"
    public static let attemptLabel = "agentmgr.io/attempt"

    /// The name of the Job (and of a gang's Service) for an attempt at a job's stage.
    public static func name(jobID: UUID, stage: Int, attempt: Int = 0) -> String {
        KubernetesNames.job(jobID, stage: stage, attempt: attempt)
    }

    public static func name(of request: KubernetesJobRequest) -> String {
        name(jobID: request.jobID, stage: request.stage, attempt: request.attempt)
    }

    /// The objects to create, in order: the Job, then (gangs only) its Service.
    public static func render(_ request: KubernetesJobRequest) throws(KubernetesRequestError) -> [JSONValue] {
        try request.validate()
        let name = name(of: request)
        let gang = request.replicas > 1
        var objects = [job(request, name: name, gang: gang)]
        if gang { objects.append(service(request, name: name)) }
        return objects
    }

    static func labels(_ request: KubernetesJobRequest) -> JSONValue {
        [
            jobIDLabel: .string(request.jobID.uuidString.lowercased()), tenantLabel: .string(request.tenant),
            stageLabel: .string(String(request.stage)), attemptLabel: .string(String(request.attempt)),
            "app.kubernetes.io/managed-by": "agentmgr",
        ]
    }

    static func job(_ request: KubernetesJobRequest, name: String, gang: Bool) -> JSONValue {
        var container: [String: JSONValue] = [
            "name": .string(containerName), "image": .string(request.image),
            "env": .array(environment(request, name: name, gang: gang)), "resources": resources(request.resources),
        ]
        if let script = launchScript(request, gang: gang) {
            container["command"] = ["/bin/sh", "-c", .string(escapingExpansion(script))]
        }
        var pod: [String: JSONValue] = [
            "restartPolicy": "Never",
            "containers": [.object(container)],
            "terminationGracePeriodSeconds": .number(Double(request.terminationGracePeriodSeconds)),
            // The program gets no API credentials (as on the local backend, it never sees the
            // agent's), nor a variable per Service in the namespace.
            "automountServiceAccountToken": false,
            "enableServiceLinks": false,
        ]
        pod.merge(placement(request, name: name)) { $1 }
        if gang { pod["subdomain"] = .string(name) }  // with the Job's host names: `<job>-<index>.<service>`
        var spec: [String: JSONValue] = [
            "backoffLimit": 0,  // AgentManager retries jobs itself
            "activeDeadlineSeconds": .number(Double(request.maxRuntimeSeconds)),
            "ttlSecondsAfterFinished": .number(Double(request.ttlSecondsAfterFinished)),
            "template": ["metadata": ["labels": labels(request)], "spec": .object(pod)],
        ]
        if gang {
            spec["completionMode"] = "Indexed"
            spec["completions"] = .number(Double(request.replicas))
            spec["parallelism"] = .number(Double(request.replicas))
        }
        var metadata: [String: JSONValue] = ["name": .string(name), "namespace": .string(request.namespace), "labels": labels(request)]
        if !request.runIDs.isEmpty {
            metadata["annotations"] = [runIDsAnnotation: .string(request.runIDs.map { $0.uuidString.lowercased() }.joined(separator: ","))]
        }
        return ["apiVersion": "batch/v1", "kind": "Job", "metadata": .object(metadata), "spec": .object(spec)]
    }

    /// Headless (no cluster IP): DNS answers with the pods themselves, `<job>-<index>.<service>`.
    /// Not-ready pods are published too, so rank 0 is reachable as soon as it has an address.
    static func service(_ request: KubernetesJobRequest, name: String) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": .string(name), "namespace": .string(request.namespace), "labels": labels(request)],
            "spec": [
                "clusterIP": "None", "publishNotReadyAddresses": true,
                "selector": [jobNameLabel: .string(name)],
                "ports": [["name": "master", "port": .number(Double(request.masterPort)), "protocol": "TCP"]],
            ],
        ]
    }
}
