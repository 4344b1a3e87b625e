import Foundation

/// One placement (a job's stage on its nodes) as the Kubernetes backend runs it: everything
/// `JobManifest.render` needs, as plain values. The backend sets the variables that depend on the
/// rank and the topology itself (`backendVariables`); `environment` holds the rest, the same on
/// every rank (CHECKPOINT_DIR, RESUME_FROM, AGENTMGR_PARAMETERS, ...).
public struct KubernetesJobRequest: Sendable, Equatable {
    /// What each replica asks for; GPUs become `nvidia.com/gpu`.
    public struct Resources: Sendable, Equatable {
        public var gpus: Int
        public var cpuCores: Double
        public var memoryGiB: Double

        public init(gpus: Int, cpuCores: Double, memoryGiB: Double) {
            self.gpus = gpus
            self.cpuCores = cpuCores
            self.memoryGiB = memoryGiB
        }
    }

    public var jobID: UUID
    public var tenant: String
    /// The curriculum stage (0 for a job without one); each stage is its own Kubernetes Job.
    public var stage: Int
    /// The launch of the stage (a rollback's restart is a new attempt); each attempt is its own Job.
    public var attempt: Int
    public var namespace: String
    /// The node of each rank, in rank order; its count is the number of replicas.
    public var nodes: [String]
    /// The run of each rank, in rank order (RUN_ID); empty when the caller does not know them
    /// all (then the pods get no RUN_ID).
    public var runIDs: [UUID]
    public var resources: Resources
    public var image: String
    /// Run with `/bin/sh -c`; nil runs the image's own entrypoint.
    public var command: String?
    /// The Job's `activeDeadlineSeconds`: Kubernetes stops every pod when it passes.
    public var maxRuntimeSeconds: Int
    /// Where rank 0 listens (MASTER_PORT); TensorFlow workers use the ports after it, as on the local backend.
    public var masterPort: Int
    /// Variables the same on every rank. Names in `backendVariables` are rejected.
    public var environment: [String: String]
    /// Between SIGTERM and SIGKILL when a pod is stopped (the local backend's grace period).
    public var terminationGracePeriodSeconds: Int
    /// How long Kubernetes keeps a finished Job (and its pods' logs) before deleting it.
    public var ttlSecondsAfterFinished: Int

    public init(
        jobID: UUID, tenant: String, stage: Int = 0, attempt: Int = 0, namespace: String, nodes: [String], runIDs: [UUID] = [],
        resources: Resources,
        image: String, command: String? = nil, maxRuntimeSeconds: Int, masterPort: Int, environment: [String: String] = [:],
        terminationGracePeriodSeconds: Int = 10, ttlSecondsAfterFinished: Int = 3600
    ) {
        self.jobID = jobID
        self.tenant = tenant
        self.stage = stage
        self.attempt = attempt
        self.namespace = namespace
        self.nodes = nodes
        self.runIDs = runIDs
        self.resources = resources
        self.image = image
        self.command = command
        self.maxRuntimeSeconds = maxRuntimeSeconds
        self.masterPort = masterPort
        self.environment = environment
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.ttlSecondsAfterFinished = ttlSecondsAfterFinished
    }

    public var replicas: Int { nodes.count }

    /// Set by the backend from the placement (see `JobManifest`), so not accepted in `environment`.
    public static let backendVariables: Set<String> = [
        "JOB_ID", "RUN_ID", "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TF_CONFIG",
        "JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID", "AGENTMGR_RUN_IDS",
    ]
}
