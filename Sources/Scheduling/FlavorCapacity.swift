/// The ready nodes of one flavor, what is free on each, and the indexes placement searches (the whole
/// flavor, and each zone). A value: the backfill projection works on a copy.
struct FlavorCapacity: Sendable {
    let name: String
    /// Node ids by local node number; local numbers follow node id order.
    private(set) var nodeIDs: [String] = []
    private(set) var zoneOf: [Int] = []
    /// Zone names in name order; a zone's number is its place here.
    private(set) var zoneNames: [String] = []
    private(set) var free: [ResourceVector] = []
    private(set) var all: NodeIndex
    private(set) var zones: [NodeIndex] = []
    /// While a backfill reservation holds: reserved node → what it can still give to jobs that end
    /// after the reservation starts without leaving too little for the reserved replicas.
    var slack: [Int: ResourceVector] = [:]

    /// `nodes` must be in node id order; `capacityGPUs` is the most GPUs any of them has (free or not).
    init(name: String, nodes: [(id: String, zone: String, free: ResourceVector)], capacityGPUs: Int) {
        self.name = name
        let maxGPUs = max(capacityGPUs, nodes.reduce(0) { max($0, $1.free.gpus) })
        all = NodeIndex(maxGPUs: maxGPUs)
        zoneNames = Array(Set(nodes.map(\.zone))).sorted()
        let zoneNumber = Dictionary(uniqueKeysWithValues: zoneNames.enumerated().map { ($1, $0) })
        zones = Array(repeating: NodeIndex(maxGPUs: maxGPUs), count: zoneNames.count)
        nodeIDs.reserveCapacity(nodes.count)
        for (local, node) in nodes.prefix(NodeIndex.nodeLimit).enumerated() {
            let zone = zoneNumber[node.zone]!
            nodeIDs.append(node.id)
            zoneOf.append(zone)
            free.append(node.free)
            all.insert(local, free: node.free)
            zones[zone].insert(local, free: node.free)
        }
    }

    var isEmpty: Bool { nodeIDs.isEmpty }

    /// Adds `delta` to a node's free capacity (negative: takes a replica), keeping the indexes current.
    mutating func change(_ node: Int, by delta: ResourceVector) {
        let old = free[node]
        let new = old + delta
        all.remove(node, free: old)
        all.insert(node, free: new)
        zones[zoneOf[node]].remove(node, free: old)
        zones[zoneOf[node]].insert(node, free: new)
        free[node] = new
    }

    mutating func release(_ nodes: [Int], _ need: ResourceVector) {
        for node in nodes.reversed() { change(node, by: need) }
    }

    /// Best-fit placement of a gang of `replicas` identical replicas, all or nothing. On success the
    /// capacity is taken and the local node numbers (one per replica) are returned.
    ///
    /// `constrained`: the job would still run when the flavor's reservation starts, so a reserved node
    /// may take a replica only while its slack covers it (the slack is then charged).
    /// `skippedReserved` tells whether a reserved node was passed over for that reason.
    mutating func place(
        _ need: ResourceVector, replicas: Int, sameZone: Bool, constrained: Bool = false
    ) -> (nodes: [Int]?, skippedReserved: Bool) {
        var skipped = false
        guard sameZone, zones.count > 1 else {
            guard all.gpuReplicaBound(need) >= replicas else { return (nil, false) }
            let nodes = placeReplicas(need, replicas, zone: nil, constrained: constrained, skipped: &skipped)
            if let nodes, constrained { chargeSlack(nodes, need) }
            return (nodes, skipped)
        }
        // Each zone on its own; the zone leaving the fewest GPUs free on the nodes it uses wins, ties by name.
        var best: (stranded: Int, nodes: [Int])?
        for zone in zones.indices where zones[zone].gpuReplicaBound(need) >= replicas {
            guard let nodes = placeReplicas(need, replicas, zone: zone, constrained: constrained, skipped: &skipped)
            else { continue }
            let stranded = strandedGPUs(nodes)
            release(nodes, need)
            if best == nil || stranded < best!.stranded { best = (stranded, nodes) }
        }
        guard let best else { return (nil, skipped) }
        for node in best.nodes { change(node, by: ResourceVector.zero - need) }
        if constrained { chargeSlack(best.nodes, need) }
        return (best.nodes, skipped)
    }

    /// Whether the gang could be placed now, ignoring any reservation; changes nothing.
    mutating func canPlace(_ need: ResourceVector, replicas: Int, sameZone: Bool) -> Bool {
        guard let nodes = place(need, replicas: replicas, sameZone: sameZone).nodes else { return false }
        release(nodes, need)
        return true
    }

    /// Free GPUs left on the distinct nodes of a placement.
    func strandedGPUs(_ nodes: [Int]) -> Int {
        var seen = Set<Int>()
        var total = 0
        for node in nodes where seen.insert(node).inserted { total += max(0, free[node].gpus) }
        return total
    }

    private mutating func placeReplicas(
        _ need: ResourceVector, _ replicas: Int, zone: Int?, constrained: Bool, skipped: inout Bool
    ) -> [Int]? {
        var chosen: [Int] = []
        chosen.reserveCapacity(replicas)
        var tentativeSlack = constrained ? slack : [:]
        let taken = ResourceVector.zero - need
        for _ in 0..<replicas {
            let found: Int?
            if constrained {
                func allowed(_ node: Int) -> Bool {
                    guard let room = tentativeSlack[node] else { return true }
                    if need.fits(in: room) { return true }
                    skipped = true
                    return false
                }
                found = zone == nil ? all.bestFit(need, allowed: allowed) : zones[zone!].bestFit(need, allowed: allowed)
            } else {
                found = zone == nil ? all.bestFit(need) { _ in true } : zones[zone!].bestFit(need) { _ in true }
            }
            guard let node = found else {
                release(chosen, need)
                return nil
            }
            change(node, by: taken)
            if constrained, let room = tentativeSlack[node] { tentativeSlack[node] = room - need }
            chosen.append(node)
        }
        return chosen
    }

    private mutating func chargeSlack(_ nodes: [Int], _ need: ResourceVector) {
        for node in nodes { if let room = slack[node] { slack[node] = room - need } }
    }
}
