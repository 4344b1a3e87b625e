import Foundation

extension KubernetesJobRequest {
    /// Largest gang one Indexed Job runs here (Kubernetes allows up to 100,000 indexes; a host name
    /// `<job>-<index>` must stay a DNS label).
    static let maxReplicas = 10_000

    /// Every problem with the request, each naming its field; empty when it can be rendered.
    public func problems() -> [KubernetesRequestError.Problem] {
        var problems: [KubernetesRequestError.Problem] = []
        func problem(_ field: String, _ message: String) { problems.append(.init(field: field, message: message)) }

        if image.trimmingCharacters(in: .whitespaces).isEmpty {
            problem("image", "must not be empty")
        } else if image.contains(where: \.isWhitespace) {
            problem("image", "must not contain white space, got \"\(image)\"")
        }
        if let command, command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problem("command", "must not be empty when given (nil runs the image's entrypoint)")
        }
        if !KubernetesNames.isDNSLabel(namespace) {
            problem("namespace", "must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got \"\(namespace)\"")
        }
        if !KubernetesNames.isLabelValue(tenant) || tenant.isEmpty {
            problem(
                "tenant", "must be a Kubernetes label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends), got \"\(tenant)\""
            )
        }
        if !(0...9999).contains(stage) { problem("stage", "must be from 0 to 9999, got \(stage)") }
        if !(0...9999).contains(attempt) { problem("attempt", "must be from 0 to 9999, got \(attempt)") }
        if nodes.isEmpty {
            problem("nodes", "must name the node of at least one replica")
        } else if nodes.count > Self.maxReplicas {
            problem("nodes", "at most \(Self.maxReplicas) replicas, got \(nodes.count)")
        }
        for (rank, node) in nodes.enumerated() where node.isEmpty || !KubernetesNames.isLabelValue(node) {
            problem("nodes[\(rank)]", "must be a node's kubernetes.io/hostname label value, got \"\(node)\"")
        }
        if !runIDs.isEmpty && runIDs.count != nodes.count {
            problem("runIDs", "must have one run per replica (\(nodes.count)), or be empty, got \(runIDs.count)")
        }
        if resources.gpus < 0 { problem("resources.gpus", "must not be negative, got \(resources.gpus)") }
        if !(resources.cpuCores >= 0.001 && resources.cpuCores <= 100_000) {
            problem("resources.cpuCores", "must be from 0.001 to 100000, got \(resources.cpuCores)")
        }
        if !(resources.memoryGiB >= 1.0 / 1024 && resources.memoryGiB <= 1_000_000) {
            problem("resources.memoryGiB", "must be from 1/1024 (1 MiB) to 1000000, got \(resources.memoryGiB)")
        }
        if maxRuntimeSeconds < 1 { problem("maxRuntimeSeconds", "must be at least 1, got \(maxRuntimeSeconds)") }
        if !(1...65_535).contains(masterPort) || masterPort + replicas > 65_535 {
            problem("masterPort", "must leave room for one TensorFlow port per replica below 65536, got \(masterPort)")
        }
        if terminationGracePeriodSeconds < 0 {
            problem("terminationGracePeriodSeconds", "must not be negative, got \(terminationGracePeriodSeconds)")
        }
        if ttlSecondsAfterFinished < 0 { problem("ttlSecondsAfterFinished", "must not be negative, got \(ttlSecondsAfterFinished)") }
        for name in environment.keys.sorted() {
            if Self.backendVariables.contains(name) {
                problem("environment.\(name)", "is set by the Kubernetes backend from the placement; leave it out")
            } else if !KubernetesNames.isVariableName(name) {
                problem("environment.\(name)", "is not a valid variable name ([-._a-zA-Z][-._a-zA-Z0-9]*)")
            }
        }
        return problems
    }

    /// Throws `KubernetesRequestError` listing every problem.
    public func validate() throws(KubernetesRequestError) {
        let problems = problems()
        if !problems.isEmpty { throw KubernetesRequestError(problems: problems) }
    }
}
