import AgentCore
import Foundation

/// The environment a replica starts with: who it is in the job, where its peers are (PyTorch,
/// TensorFlow and JAX conventions), where to write checkpoints and what to resume from.
public struct LaunchEnvironment: Equatable, Sendable {
    public var jobID: UUID
    public var runID: UUID
    public var rank: Int
    /// The node of each rank, in rank order.
    public var nodes: [String]
    /// How to reach each rank's node (its host name, or 127.0.0.1 for nodes simulated on one machine).
    public var addresses: [String]
    public var checkpointDirectory: String
    public var resumeFrom: String?
    public var parameters: JSONValue

    public init(
        jobID: UUID, runID: UUID, rank: Int, nodes: [String], addresses: [String], checkpointDirectory: String, resumeFrom: String?,
        parameters: JSONValue = .object([:])
    ) {
        self.jobID = jobID
        self.runID = runID
        self.rank = rank
        self.nodes = nodes
        self.addresses = addresses
        self.checkpointDirectory = checkpointDirectory
        self.resumeFrom = resumeFrom
        self.parameters = parameters
    }

    /// One port per job all ranks agree on without talking: 29500 plus a hash of the job id.
    public var masterPort: Int { 29_500 + Int(StableID.hex(jobID.uuidString.lowercased()).prefix(4), radix: 16)! % 1_000 }

    public var variables: [String: String] {
        let worldSize = nodes.count
        let masterAddress = addresses[0]
        let workers = addresses.enumerated().map { "\($0.element):\(masterPort + 1 + $0.offset)" }
        let tfConfig: JSONValue = .object([
            "cluster": .object(["worker": .array(workers.map(JSONValue.string))]),
            "task": .object(["type": .string("worker"), "index": .number(Double(rank))]),
        ])
        var variables = [
            "JOB_ID": jobID.uuidString.lowercased(), "RUN_ID": runID.uuidString.lowercased(),
            "RANK": String(rank), "WORLD_SIZE": String(worldSize), "LOCAL_RANK": String(nodes[..<rank].filter { $0 == nodes[rank] }.count),
            "MASTER_ADDR": masterAddress, "MASTER_PORT": String(masterPort),
            "TF_CONFIG": String(decoding: tfConfig.serialized(), as: UTF8.self),
            "JAX_COORDINATOR_ADDRESS": "\(masterAddress):\(masterPort)", "JAX_NUM_PROCESSES": String(worldSize),
            "JAX_PROCESS_ID": String(rank), "CHECKPOINT_DIR": checkpointDirectory,
            "AGENTMGR_PARAMETERS": String(decoding: parameters.serialized(), as: UTF8.self),
        ]
        if let resumeFrom { variables["RESUME_FROM"] = resumeFrom }
        return variables
    }
}
