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
        all.makeRoom(forGPUs: new.gpus)
        zones[zoneOf[node]].makeRoom(forGPUs: new.gpus)
        all.remove(node, free: old)
        all.insert(node, free: new)
        zones[zoneOf[node]].remove(node, free: old)
        zones[zoneOf[node]].insert(node, free: new)
        free[node] = new
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
        let choice = choose(need, replicas: replicas, sameZone: sameZone, constrained: constrained)
        guard let nodes = choice.nodes else { return choice }
        let taken = ResourceVector.zero - need
        for node in nodes {
            change(node, by: taken)
            if constrained, let room = slack[node] { slack[node] = room - need }
        }
        return choice
    }

    /// Whether the gang could be placed now, ignoring any reservation.
    func canPlace(_ need: ResourceVector, replicas: Int, sameZone: Bool) -> Bool {
        choose(need, replicas: replicas, sameZone: sameZone, constrained: false).nodes != nil
    }

    /// The nodes `place` would use, without changing anything. With `sameZone`, each zone is tried on
    /// its own and the zone leaving the fewest GPUs free on the nodes it uses wins, ties by name.
    func choose(_ need: ResourceVector, replicas: Int, sameZone: Bool, constrained: Bool) -> (nodes: [Int]?, skippedReserved: Bool) {
        var skipped = false
        guard sameZone, zones.count > 1, replicas > 1 else {
            guard all.gpuReplicaBound(need) >= replicas else { return (nil, false) }
            return (chooseReplicas(need, replicas, in: all, constrained: constrained, skipped: &skipped), skipped)
        }
        var best: (stranded: Int, nodes: [Int])?
        for zone in zones.indices where zones[zone].gpuReplicaBound(need) >= replicas {
            guard let nodes = chooseReplicas(need, replicas, in: zones[zone], constrained: constrained, skipped: &skipped) else { continue }
            let stranded = strandedGPUs(nodes, need)
            if best == nil || stranded < best!.stranded { best = (stranded, nodes) }
        }
        return (best?.nodes, skipped)
    }

    /// Free GPUs left on the distinct nodes of a placement once it is made.
    func strandedGPUs(_ nodes: [Int], _ need: ResourceVector) -> Int {
        var distinct: [Int] = []
        var total = 0
        for node in nodes where !distinct.contains(node) {
            distinct.append(node)
            total += max(0, free[node].gpus - need.gpus * nodes.lazy.filter { $0 == node }.count)
        }
        return total
    }

    /// Best fit for each replica in turn, as if the earlier ones were taken, without touching the
    /// index: nodes already chosen are left out of the index search and compared separately with
    /// what they have left (the same order: free GPUs, cores, memory, node number).
    private func chooseReplicas(
        _ need: ResourceVector, _ replicas: Int, in index: NodeIndex, constrained: Bool, skipped: inout Bool
    ) -> [Int]? {
        if replicas == 1 {
            let node: Int?
            if constrained {
                node = index.bestFit(need) { node in
                    guard let room = slack[node], !need.fits(in: room) else { return true }
                    skipped = true
                    return false
                }
            } else {
                node = index.bestFit(need) { _ in true }
            }
            return node.map { [$0] }
        }
        var chosen: [Int] = []
        chosen.reserveCapacity(replicas)
        // Nodes chosen so far, what each has left, and (when constrained) its slack left.
        var touched: [Int] = []
        var left: [ResourceVector] = []
        var roomLeft: [ResourceVector?] = []
        for _ in 0..<replicas {
            var best = index.bestFit(need) { node in
                if touched.contains(node) { return false }
                guard constrained, let room = slack[node], !need.fits(in: room) else { return true }
                skipped = true
                return false
            }
            var bestSlot = -1
            for slot in touched.indices where need.fits(in: left[slot]) {
                if constrained, let room = roomLeft[slot], !need.fits(in: room) {
                    skipped = true
                    continue
                }
                let candidate = left[slot]
                if let current = best {
                    let other = bestSlot >= 0 ? left[bestSlot] : free[current]
                    guard (candidate.gpus, candidate.cpu, candidate.memoryGiB, touched[slot]) < (other.gpus, other.cpu, other.memoryGiB, current)
                    else { continue }
                }
                best = touched[slot]
                bestSlot = slot
            }
            guard let node = best else { return nil }
            if bestSlot < 0 {
                bestSlot = touched.count
                touched.append(node)
                left.append(free[node])
                roomLeft.append(constrained ? slack[node] : nil)
            }
            left[bestSlot] = left[bestSlot] - need
            if let room = roomLeft[bestSlot] { roomLeft[bestSlot] = room - need }
            chosen.append(node)
        }
        return chosen
    }
}
