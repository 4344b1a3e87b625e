import AgentCore
import Foundation

/// The launch environment of the local backend (docs/progress-protocol.md), for pods.
///
/// One pod template serves every rank of a gang, so what differs per rank comes from the pod:
/// RANK and JAX_PROCESS_ID from the completion index (downward API), TF_CONFIG's task index by
/// Kubernetes' own `$(RANK)` expansion (a value may name a variable defined before it in the
/// list; this needs no shell, so it works for images run with their own entrypoint). RUN_ID
/// cannot be picked that way: a gang's pods get the runs in AGENTMGR_RUN_IDS (rank order), and
/// when a command is given, the shell that runs it sets RUN_ID from that list first.
/// LOCAL_RANK is 0: each pod is its own process with its own GPUs, numbered from 0.
extension JobManifest {
    static func environment(_ request: KubernetesJobRequest, name: String, gang: Bool) -> [JSONValue] {
        let port = request.masterPort
        let worldSize = String(request.replicas)
        var values = request.environment
        values["JOB_ID"] = request.jobID.uuidString.lowercased()
        values["WORLD_SIZE"] = worldSize
        values["JAX_NUM_PROCESSES"] = worldSize
        values["LOCAL_RANK"] = "0"
        values["MASTER_PORT"] = String(port)
        var fromIndex: [JSONValue] = []
        var expanded: [String: String] = [:]
        if gang {
            let master = "\(name)-0.\(name)"
            values["MASTER_ADDR"] = master
            values["JAX_COORDINATOR_ADDRESS"] = "\(master):\(port)"
            if !request.runIDs.isEmpty {
                values["AGENTMGR_RUN_IDS"] = request.runIDs.map { $0.uuidString.lowercased() }.joined(separator: " ")
            }
            for variable in ["RANK", "JAX_PROCESS_ID"] {
                fromIndex.append([
                    "name": .string(variable),
                    "valueFrom": ["fieldRef": ["fieldPath": .string("metadata.annotations['\(completionIndexAnnotation)']")]],
                ])
            }
            let workers = (0..<request.replicas).map { "\(name)-\($0).\(name):\(port + 1 + $0)" }
            expanded["TF_CONFIG"] = tfConfig(workers: workers, index: "$(RANK)")
        } else {
            // One pod: rank 0 is this pod itself.
            values["RUN_ID"] = request.runIDs.first?.uuidString.lowercased()
            values["RANK"] = "0"
            values["JAX_PROCESS_ID"] = "0"
            values["MASTER_ADDR"] = "127.0.0.1"
            values["JAX_COORDINATOR_ADDRESS"] = "127.0.0.1:\(port)"
            values["TF_CONFIG"] = tfConfig(workers: ["127.0.0.1:\(port + 1)"], index: "0")
        }
        // The index's variables first: Kubernetes expands only references to variables defined
        // earlier in the list, and TF_CONFIG refers to RANK.
        var entries = fromIndex
        for key in Set(values.keys).union(expanded.keys).sorted() {
            let value = expanded[key] ?? escapingExpansion(values[key]!)
            entries.append(["name": .string(key), "value": .string(value)])
        }
        return entries
    }

    /// TF_CONFIG as the local backend writes it (keys sorted), with the task index spliced in as
    /// text so it can be a `$(RANK)` reference. Literal `$` in the rest is escaped.
    static func tfConfig(workers: [String], index: String) -> String {
        let cluster: JSONValue = ["worker": .array(workers.map(JSONValue.string))]
        let clusterText = escapingExpansion(String(decoding: cluster.serialized(), as: UTF8.self))
        return #"{"cluster":\#(clusterText),"task":{"index":\#(index),"type":"worker"}}"#
    }

    /// Kubernetes expands `$(NAME)` in env values, `command` and `args`, and turns `$$` into `$`.
    /// Doubling every `$` makes it give back the text unchanged (a shell's `$$` stays `$$`).
    static func escapingExpansion(_ text: String) -> String {
        text.replacingOccurrences(of: "$", with: "$$")
    }

    /// The `/bin/sh -c` script: the command, and for a gang first RUN_ID from the rank.
    static func launchScript(_ request: KubernetesJobRequest, gang: Bool) -> String? {
        guard let command = request.command else { return nil }
        guard gang, !request.runIDs.isEmpty else { return command }
        // POSIX sh only (images may have busybox or dash): the rank-th word of the list.
        return #"set -- $AGENTMGR_RUN_IDS; shift "$RANK"; RUN_ID=$1; export RUN_ID; set --"# + "\n" + command
    }
}
