/// The nodes of one flavor (or of one flavor in one zone), bucketed by free GPUs, each bucket sorted by
/// (free cores, free memory, node number). Node numbers are given in node id order, so the first node
/// of the first bucket that fits is exactly the best fit: fewest GPUs left free, then fewest cores,
/// then least memory, then node id. A search looks at most at one bucket per GPU count and jumps
/// over nodes short of memory by core count, so it never scans every node.
///
/// Keys pack (cores, memory, node) into 64 bits: up to 65,535 free cores and 16,777,215 GiB per node
/// are told apart (more compares as that much), and up to 16,777,215 ready nodes per flavor are
/// indexed.
struct NodeIndex: Sendable {
    static let cpuLimit = (1 << 16) - 1
    static let memoryLimit = (1 << 24) - 1
    static let nodeLimit = (1 << 24) - 1

    /// By free GPUs, 0...maxGPUs.
    private(set) var buckets: [SortedKeys]

    init(maxGPUs: Int) {
        buckets = Array(repeating: SortedKeys(), count: max(0, maxGPUs) + 1)
    }

    var nodeCount: Int { buckets.reduce(0) { $0 + $1.count } }

    @inline(__always)
    static func key(cpu: Int, memory: Int, node: Int) -> UInt64 {
        UInt64(min(max(cpu, 0), cpuLimit)) << 48 | UInt64(min(max(memory, 0), memoryLimit)) << 24 | UInt64(node)
    }

    @inline(__always)
    private func bucket(_ gpus: Int) -> Int { min(max(gpus, 0), buckets.count - 1) }

    /// Makes room for a node with `gpus` free, more than the index was sized for (a node given back
    /// more than was taken from it: only a kept index meets one). Empty buckets above the largest
    /// free count change no search, so the index decides as one sized for it from the start.
    mutating func makeRoom(forGPUs gpus: Int) {
        guard gpus >= buckets.count else { return }
        buckets += Array(repeating: SortedKeys(), count: gpus - buckets.count + 1)
    }

    mutating func insert(_ node: Int, free: ResourceVector) {
        buckets[bucket(free.gpus)].insert(Self.key(cpu: free.cpu, memory: free.memoryGiB, node: node))
    }

    mutating func remove(_ node: Int, free: ResourceVector) {
        buckets[bucket(free.gpus)].remove(Self.key(cpu: free.cpu, memory: free.memoryGiB, node: node))
    }

    /// The best-fit node for one replica of `need` among the nodes `allowed` accepts, or nil.
    func bestFit(_ need: ResourceVector, allowed: (Int) -> Bool) -> Int? {
        let gpus = max(need.gpus, 0)
        guard gpus < buckets.count else { return nil }
        let cpu = min(max(need.cpu, 0), Self.cpuLimit)
        let memory = min(max(need.memoryGiB, 0), Self.memoryLimit)
        for b in gpus..<buckets.count where !buckets[b].isEmpty {
            if let node = Self.search(buckets[b], cpu: cpu, memory: memory, allowed: allowed) { return node }
        }
        return nil
    }

    private static func search(_ keys: SortedKeys, cpu: Int, memory: Int, allowed: (Int) -> Bool) -> Int? {
        guard let last = keys.last, Int(last >> 48) >= cpu else { return nil }
        var position = keys.lowerBound(key(cpu: cpu, memory: memory, node: 0))
        while let here = position {
            let key = keys.key(at: here)
            let keyCPU = Int(key >> 48)
            if Int((key >> 24) & 0xFF_FFFF) < memory {
                // Every node with this many free cores and less memory is skipped at once.
                position = keys.lowerBound(Self.key(cpu: keyCPU, memory: memory, node: 0))
                continue
            }
            let node = Int(key & 0xFF_FFFF)
            if allowed(node) { return node }
            position = keys.position(after: here)
        }
        return nil
    }

    /// An upper bound on the replicas of `need` that the free GPUs allow (cores and memory ignored):
    /// a cheap test that rejects most gangs that cannot fit without touching a node.
    func gpuReplicaBound(_ need: ResourceVector) -> Int {
        let gpus = max(need.gpus, 0)
        guard gpus > 0 else { return Int.max }
        guard gpus < buckets.count else { return 0 }
        var total = 0
        for b in gpus..<buckets.count { total += buckets[b].count * (b / gpus) }
        return total
    }

    /// The most free GPUs any node has, and how many nodes have that many.
    func largestFreeGPUs() -> (gpus: Int, nodes: Int) {
        for b in buckets.indices.reversed() where !buckets[b].isEmpty { return (b, buckets[b].count) }
        return (0, 0)
    }

    /// The most free cores any node has, and how many nodes have that many.
    func largestFreeCores() -> (cores: Int, nodes: Int) {
        var best = -1
        for keys in buckets { if let last = keys.last { best = max(best, Int(last >> 48)) } }
        guard best >= 0 else { return (0, 0) }
        var nodes = 0
        for keys in buckets { nodes += keys.count(from: Self.key(cpu: best, memory: 0, node: 0)) }
        return (best, nodes)
    }
}
