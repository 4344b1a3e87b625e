import Foundation
import Testing

@testable import Scheduling

@Suite("Index structures against brute force")
struct IndexTests {
    @Test("SortedKeys keeps the same keys, in order, as a sorted array through random inserts and removals")
    func sortedKeys() {
        var generator = SplitMix(seed: 1)
        var keys = SortedKeys()
        var reference: [UInt64] = []
        for step in 0..<20_000 {
            if reference.isEmpty || UInt64.random(in: 0..<3, using: &generator) > 0 {
                let key = UInt64.random(in: 0..<5_000, using: &generator) << 24 | UInt64(step)
                keys.insert(key)
                reference.insert(key, at: reference.firstIndex { $0 > key } ?? reference.count)
            } else {
                let key = reference.remove(at: Int.random(in: 0..<reference.count, using: &generator))
                let removed = keys.remove(key)
                #expect(removed)
            }
        }
        #expect(keys.count == reference.count)
        var walked: [UInt64] = []
        var position = keys.lowerBound(0)
        while let here = position {
            walked.append(keys.key(at: here))
            position = keys.position(after: here)
        }
        #expect(walked == reference)
        let probe = reference[reference.count / 2]
        #expect(keys.count(from: probe) == reference.count - reference.count / 2)
        let removedMissing = keys.remove(UInt64.max)
        #expect(!removedMissing)
    }

    @Test("NodeIndex.bestFit picks what a scan of every node picks")
    func bestFitMatchesScan() {
        var generator = SplitMix(seed: 2)
        var index = NodeIndex(maxGPUs: 8)
        var free: [ResourceVector] = []
        for node in 0..<3_000 {
            let vector = ResourceVector(
                gpus: Int.random(in: 0...8, using: &generator), cpu: Int.random(in: 0...96, using: &generator),
                memoryGiB: Int.random(in: 0...512, using: &generator))
            free.append(vector)
            index.insert(node, free: vector)
        }
        func scan(_ need: ResourceVector, skip: Set<Int>) -> Int? {
            free.indices.filter { need.fits(in: free[$0]) && !skip.contains($0) }.min { a, b in
                (free[a].gpus, free[a].cpu, free[a].memoryGiB, a) < (free[b].gpus, free[b].cpu, free[b].memoryGiB, b)
            }
        }
        for _ in 0..<500 {
            let need = ResourceVector(
                gpus: Int.random(in: 0...8, using: &generator), cpu: Int.random(in: 0...96, using: &generator),
                memoryGiB: Int.random(in: 0...512, using: &generator))
            let skip = Set((0..<20).map { _ in Int.random(in: 0..<3_000, using: &generator) })
            let found = index.bestFit(need) { !skip.contains($0) }
            #expect(found == scan(need, skip: skip))
            if let found {  // take it, as a placement would
                index.remove(found, free: free[found])
                free[found] = free[found] - need
                index.insert(found, free: free[found])
            }
        }
    }

    @Test("Gang placement without touching the index matches a brute-force best fit that takes each replica in turn")
    func gangChoiceMatchesSimulation() {
        var generator = SplitMix(seed: 3)
        let zoneNames = ["za", "zb", "zc"]
        var nodes: [(id: String, zone: String, free: ResourceVector)] = []
        for i in 0..<300 {
            nodes.append(
                (
                    String(format: "n%03d", i), zoneNames[Int.random(in: 0..<3, using: &generator)],
                    ResourceVector(
                        gpus: Int.random(in: 0...8, using: &generator), cpu: Int.random(in: 0...96, using: &generator),
                        memoryGiB: Int.random(in: 0...512, using: &generator))
                ))
        }
        var capacity = FlavorCapacity(name: "gpu-v100", nodes: nodes, capacityGPUs: 8)
        var free = nodes.map(\.free)

        func simulate(_ need: ResourceVector, _ replicas: Int, among candidates: [Int]) -> [Int]? {
            var left = free
            var chosen: [Int] = []
            for _ in 0..<replicas {
                guard
                    let best = candidates.filter({ need.fits(in: left[$0]) }).min(by: { a, b in
                        (left[a].gpus, left[a].cpu, left[a].memoryGiB, a) < (left[b].gpus, left[b].cpu, left[b].memoryGiB, b)
                    })
                else { return nil }
                left[best] = left[best] - need
                chosen.append(best)
            }
            return chosen
        }
        func reference(_ need: ResourceVector, _ replicas: Int, sameZone: Bool) -> [Int]? {
            guard sameZone, replicas > 1 else { return simulate(need, replicas, among: Array(nodes.indices)) }
            var best: (stranded: Int, nodes: [Int])?
            for zone in zoneNames {
                guard let chosen = simulate(need, replicas, among: nodes.indices.filter { nodes[$0].zone == zone }) else { continue }
                let stranded = Set(chosen).reduce(0) { total, node in total + free[node].gpus - need.gpus * chosen.filter { $0 == node }.count }
                if best == nil || stranded < best!.stranded { best = (stranded, chosen) }
            }
            return best?.nodes
        }

        var placed = 0
        for _ in 0..<400 {
            let gpus = Int.random(in: 0...8, using: &generator)
            let need = ResourceVector(gpus: gpus, cpu: Int.random(in: 1...24, using: &generator), memoryGiB: Int.random(in: 1...96, using: &generator))
            let replicas = Int.random(in: 1...6, using: &generator)
            let sameZone = Bool.random(using: &generator)
            let expected = reference(need, replicas, sameZone: sameZone)
            #expect(capacity.canPlace(need, replicas: replicas, sameZone: sameZone) == (expected != nil))
            let got = capacity.place(need, replicas: replicas, sameZone: sameZone).nodes
            #expect(got == expected)
            for node in got ?? [] { free[node] = free[node] - need }
            placed += got == nil ? 0 : 1
        }
        #expect(placed > 50)
        #expect(capacity.free == free)
    }
}
