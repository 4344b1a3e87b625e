/// A sorted set of `UInt64` keys stored as a list of short sorted chunks, so an insert or a removal
/// moves at most one chunk's worth of memory (a few KB) instead of the whole set, and a search is
/// two binary searches. Used by `NodeIndex` for the nodes of one free-GPU bucket.
struct SortedKeys: Sendable {
    /// A place in the set: chunk number and offset inside the chunk.
    struct Position: Equatable, Sendable {
        var chunk: Int
        var offset: Int
    }

    private static let chunkLimit = 256

    private(set) var count = 0
    private var chunks: [[UInt64]] = []
    /// The last (largest) key of each chunk, for the first binary search.
    private var lasts: [UInt64] = []

    var isEmpty: Bool { count == 0 }

    /// The largest key.
    var last: UInt64? { lasts.last }

    func key(at position: Position) -> UInt64 { chunks[position.chunk][position.offset] }

    /// The first position whose key is `>= key`, or nil when every key is smaller.
    func lowerBound(_ key: UInt64) -> Position? {
        var low = 0
        var high = lasts.count
        while low < high {
            let mid = (low &+ high) >> 1
            if lasts[mid] < key { low = mid &+ 1 } else { high = mid }
        }
        guard low < lasts.count else { return nil }
        return chunks[low].withUnsafeBufferPointer { chunk in
            var a = 0
            var b = chunk.count
            while a < b {
                let mid = (a &+ b) >> 1
                if chunk[mid] < key { a = mid &+ 1 } else { b = mid }
            }
            return Position(chunk: low, offset: a)
        }
    }

    /// The position after `position`, or nil at the end.
    func position(after position: Position) -> Position? {
        if position.offset + 1 < chunks[position.chunk].count {
            return Position(chunk: position.chunk, offset: position.offset + 1)
        }
        return position.chunk + 1 < chunks.count ? Position(chunk: position.chunk + 1, offset: 0) : nil
    }

    /// How many keys are `>= key`.
    func count(from key: UInt64) -> Int {
        guard let start = lowerBound(key) else { return 0 }
        var total = chunks[start.chunk].count - start.offset
        for chunk in chunks[(start.chunk + 1)...] { total += chunk.count }
        return total
    }

    mutating func insert(_ key: UInt64) {
        count += 1
        guard !chunks.isEmpty else {
            chunks.append([key])
            lasts.append(key)
            return
        }
        // The first chunk whose last key is >= key takes it; a key larger than all goes to the last chunk.
        var low = 0
        var high = lasts.count
        while low < high {
            let mid = (low &+ high) >> 1
            if lasts[mid] < key { low = mid &+ 1 } else { high = mid }
        }
        let c = min(low, chunks.count - 1)
        let offset = chunks[c].withUnsafeBufferPointer { chunk in
            var a = 0
            var b = chunk.count
            while a < b {
                let mid = (a &+ b) >> 1
                if chunk[mid] < key { a = mid &+ 1 } else { b = mid }
            }
            return a
        }
        chunks[c].insert(key, at: offset)
        if key > lasts[c] { lasts[c] = key }
        if chunks[c].count > 2 * Self.chunkLimit {
            let upper = Array(chunks[c][Self.chunkLimit...])
            chunks[c].removeSubrange(Self.chunkLimit...)
            lasts[c] = chunks[c][Self.chunkLimit - 1]
            chunks.insert(upper, at: c + 1)
            lasts.insert(upper[upper.count - 1], at: c + 1)
        }
    }

    /// Removes `key`; returns false when it was not there.
    @discardableResult
    mutating func remove(_ key: UInt64) -> Bool {
        guard let position = lowerBound(key), chunks[position.chunk][position.offset] == key else { return false }
        count -= 1
        let c = position.chunk
        chunks[c].remove(at: position.offset)
        if chunks[c].isEmpty {
            chunks.remove(at: c)
            lasts.remove(at: c)
        } else {
            lasts[c] = chunks[c][chunks[c].count - 1]
        }
        return true
    }
}
