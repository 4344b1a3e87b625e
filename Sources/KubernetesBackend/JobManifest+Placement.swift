import AgentCore

/// Where the pods may run and what each one asks for.
extension JobManifest {
    static let hostnameLabel = "kubernetes.io/hostname"

    /// Pod-spec fields that put the pods on the placement's nodes.
    ///
    /// All on one node: a node selector. Otherwise a required node affinity to the placement's
    /// nodes. A Job has one pod template for every index, so the rank ↔ node pairing cannot be
    /// pinned: any rank may land on any of the nodes. When every rank has a node of its own, a
    /// pod anti-affinity between the Job's pods keeps it one pod per node, so the set of nodes
    /// used is exactly the placement's; when a node holds several ranks, Kubernetes may share the
    /// ranks out differently among those nodes (within what their GPUs allow).
    static func placement(_ request: KubernetesJobRequest, name: String) -> [String: JSONValue] {
        var distinct: [String] = []
        for node in request.nodes where !distinct.contains(node) { distinct.append(node) }
        if distinct.count == 1 { return ["nodeSelector": [hostnameLabel: .string(distinct[0])]] }
        var affinity: [String: JSONValue] = [
            "nodeAffinity": [
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    "nodeSelectorTerms": [
                        [
                            "matchExpressions": [
                                ["key": .string(hostnameLabel), "operator": "In", "values": .array(distinct.map(JSONValue.string))]
                            ]
                        ]
                    ]
                ]
            ]
        ]
        if distinct.count == request.replicas {
            affinity["podAntiAffinity"] = [
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    ["labelSelector": ["matchLabels": [jobNameLabel: .string(name)]], "topologyKey": .string(hostnameLabel)]
                ]
            ]
        }
        return ["affinity": .object(affinity)]
    }

    /// Requests equal to limits: GPUs must (extended resources cannot be overcommitted), and for
    /// CPU and memory it gives the pod the Guaranteed class, the capacity the scheduler reserved.
    static func resources(_ resources: KubernetesJobRequest.Resources) -> JSONValue {
        var amounts: [String: JSONValue] = [
            "cpu": .string(cpuQuantity(resources.cpuCores)), "memory": .string(memoryQuantity(resources.memoryGiB)),
        ]
        if resources.gpus > 0 { amounts["nvidia.com/gpu"] = .string(String(resources.gpus)) }
        return ["requests": .object(amounts), "limits": .object(amounts)]
    }

    /// Whole cores as `"4"`, fractions in millicores (`"1500m"`).
    static func cpuQuantity(_ cores: Double) -> String {
        let millicores = Int((cores * 1000).rounded())
        return millicores % 1000 == 0 ? String(millicores / 1000) : "\(millicores)m"
    }

    /// Whole GiB as `"16Gi"`, fractions in MiB (`"1536Mi"`).
    static func memoryQuantity(_ gib: Double) -> String {
        let mib = Int((gib * 1024).rounded())
        return mib % 1024 == 0 ? "\(mib / 1024)Gi" : "\(mib)Mi"
    }
}
