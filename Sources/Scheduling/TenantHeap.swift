/// A binary min-heap of tenants by (weighted dominant share, tenant number). Tenant numbers follow
/// tenant name order, so equal shares go by name. One heap serves one class at a time; a tenant is
/// popped, one of its jobs is decided, and it is pushed back with its new share.
struct TenantHeap: Sendable {
    private var items: [(share: Double, tenant: Int)] = []

    var isEmpty: Bool { items.isEmpty }

    @inline(__always)
    private static func before(_ a: (share: Double, tenant: Int), _ b: (share: Double, tenant: Int)) -> Bool {
        a.share < b.share || (a.share == b.share && a.tenant < b.tenant)
    }

    /// Whether `tenant` with `share` would be popped before every tenant in the heap (so pushing it
    /// and popping again would give it back).
    func precedesAll(_ tenant: Int, share: Double) -> Bool {
        guard let top = items.first else { return true }
        return Self.before((share, tenant), top)
    }

    mutating func push(_ tenant: Int, share: Double) {
        items.append((share, tenant))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < items.count else { break }
                var smallest = left
                if left + 1 < items.count, Self.before(items[left + 1], items[left]) { smallest = left + 1 }
                guard Self.before(items[smallest], items[parent]) else { break }
                items.swapAt(smallest, parent)
                parent = smallest
            }
        }
        return top.tenant
    }
}
