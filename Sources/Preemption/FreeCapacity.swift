import Scheduling

/// The placeable nodes of the preemptor's flavor, what stopping jobs would free on each, and how
/// many of the preemptor's replicas each could then take, kept current as jobs are added to and
/// removed from the stopped set (a change touches only the stopped job's nodes).
///
/// The fit test is exact for a gang of identical replicas: a node takes at most
/// `min over components of floor(available / need)` of them, nodes are independent, so the gang fits
/// iff those counts add up to `replicas` (within one zone when `sameZone`).
struct FreeCapacity: Sendable {
    let need: Resources
    let replicas: Int
    let sameZone: Bool
    let capacity: [Resources]
    /// Free before anything is stopped.
    let free: [Resources]
    let zoneOf: [Int]
    let zoneNames: [String]
    /// What the stopped set returns to each node.
    private(set) var freed: [Resources]
    /// Replicas each node could take now (at most `replicas`).
    private(set) var slots: [Int]
    private(set) var zoneSlots: [Int]
    private(set) var totalSlots = 0

    /// `nodes` must be placeable nodes of the preemptor's flavor; `need` and `replicas` already clamped.
    init(nodes: [PreemptionNode], need: Resources, replicas: Int, sameZone: Bool) {
        self.need = need
        self.replicas = replicas
        self.sameZone = sameZone
        capacity = nodes.map(\.capacity)
        free = nodes.map(\.free)
        zoneNames = Array(Set(nodes.map(\.zone))).sorted()
        let zoneNumber = Dictionary(uniqueKeysWithValues: zoneNames.enumerated().map { ($1, $0) })
        zoneOf = nodes.map { zoneNumber[$0.zone]! }
        freed = Array(repeating: .zero, count: nodes.count)
        slots = Array(repeating: 0, count: nodes.count)
        zoneSlots = Array(repeating: 0, count: zoneNames.count)
        for node in nodes.indices { refresh(node) }
    }

    /// The gang fits in what is free plus what the stopped set frees.
    var fits: Bool {
        sameZone ? zoneSlots.contains { $0 >= replicas } : totalSlots >= replicas
    }

    /// The most replicas that could be placed now (in the best zone when `sameZone`), at most `replicas`.
    var placeable: Int {
        min(replicas, sameZone ? zoneSlots.max() ?? 0 : totalSlots)
    }

    /// Adds (or with `sign` -1 removes) a stopped replica's resources on local node `node`.
    mutating func release(_ perReplica: Resources, on node: Int, sign: Int = 1) {
        freed[node] = freed[node] + perReplica * sign
        refresh(node)
    }

    private mutating func refresh(_ node: Int) {
        let old = slots[node]
        let new = Self.slots(available: available(node), need: need, limit: replicas)
        slots[node] = new
        zoneSlots[zoneOf[node]] += new - old
        totalSlots += new - old
    }

    /// Free plus freed, never above the node's capacity.
    func available(_ node: Int) -> Resources {
        let sum = free[node] + freed[node]
        let cap = capacity[node]
        return Resources(gpus: min(sum.gpus, cap.gpus), cpu: min(sum.cpu, cap.cpu), memoryGiB: min(sum.memoryGiB, cap.memoryGiB))
    }

    /// How many replicas of `need` fit in `available`, at most `limit`.
    static func slots(available: Resources, need: Resources, limit: Int) -> Int {
        var count = limit
        if need.gpus > 0 { count = min(count, max(0, available.gpus) / need.gpus) }
        if need.cpu > 0 { count = min(count, max(0, available.cpu) / need.cpu) }
        if need.memoryGiB > 0 { count = min(count, max(0, available.memoryGiB) / need.memoryGiB) }
        return count
    }
}
