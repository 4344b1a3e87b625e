import Foundation
import Scheduling
import Testing

@Suite("A prepared cluster kept current decides as the cluster built afresh")
struct PreparedClusterTests {
    @Test("After random releases and placements (one node over-allocated, one given back more than it held), rounds over both place and explain alike")
    func incrementalEqualsFresh() {
        var generator = SplitMix(seed: 7)
        let flavors = [("gpu-v100", 8, 96, 384), ("gpu-t4", 2, 32, 128), ("cpu", 0, 64, 256)]
        var nodes: [SchedulingNode] = (0..<60).map { n in
            let (flavor, gpus, cpu, memory) = flavors[n % flavors.count]
            let state: NodeState = n == 7 ? .cordoned : n == 11 ? .lost : .ready
            return Fixture.node(
                String(format: "node-%03d", (n * 37) % 60), flavor: flavor, zone: "z\(n % 3)", state: state, gpus: gpus, cpu: cpu,
                memory: memory)
        }
        var prepared = PreparedCluster(nodes)
        var running: [RunningJob] = []

        // Place and release jobs one replica per node, as the leader's view does, on both sides.
        func change(_ job: RunningJob, by sign: Int) {
            for nodeID in job.nodes {
                let index = nodes.firstIndex { $0.id == nodeID }!
                let delta = ResourceVector(gpus: sign * job.perReplica.gpus, cpu: sign * job.perReplica.cpu, memoryGiB: sign * job.perReplica.memoryGiB)
                nodes[index].allocated = nodes[index].allocated + delta
                prepared.setFree(nodeID, to: nodes[index].free)
            }
        }
        for step in 0..<400 {
            if !running.isEmpty && Int.random(in: 0..<3, using: &generator) == 0 {
                let job = running.remove(at: Int.random(in: 0..<running.count, using: &generator))
                change(job, by: -1)
                continue
            }
            let node = nodes[Int.random(in: 0..<nodes.count, using: &generator)]
            let gpus = node.capacity.gpus == 0 ? 0 : [1, 2].randomElement(using: &generator)!
            let job = Fixture.running(
                step, flavor: node.flavor, gpus: gpus, cpu: Int.random(in: 1...8, using: &generator),
                memory: Int.random(in: 4...32, using: &generator), nodes: [node.id],
                endsIn: Double(Int.random(in: 600...20_000, using: &generator)))
            guard node.free.gpus >= gpus && node.free.cpu >= job.perReplica.cpu else { continue }  // only what fits
            running.append(job)
            change(job, by: 1)
        }
        // One node pushed past its capacity (a round sees nothing free on it).
        let crowded = nodes.first { $0.id == "node-005" }!
        let overflow = Fixture.running(
            999, flavor: crowded.flavor, gpus: crowded.capacity.gpus, cpu: crowded.capacity.cpu + 1, memory: 1, nodes: [crowded.id])
        running.append(overflow)
        change(overflow, by: 1)
        // And one given back more than it held (free above its capacity: a bigger index for a fresh build).
        let ready = nodes.first { $0.state == .ready && $0.capacity.gpus == 8 && $0.id != crowded.id }!
        change(Fixture.running(998, flavor: ready.flavor, gpus: 6, cpu: 2, memory: 2, nodes: [ready.id]), by: -1)
        #expect(nodes.contains { $0.free.gpus < 0 || $0.free.cpu < 0 }, "the over-allocated node is part of the check")
        #expect(nodes.contains { $0.free.gpus > $0.capacity.gpus }, "so is the over-released one")
        #expect(running.count > 40)

        let pending = (0..<120).map { n in
            let (flavor, gpus, _, _) = flavors[n % flavors.count]
            return Fixture.job(
                n, tenant: ["acme", "beta"][n % 2], SchedulingClass.allCases[n % SchedulingClass.allCases.count], flavor: flavor,
                gpus: gpus == 0 ? 0 : Int.random(in: 1...gpus, using: &generator), cpu: Int.random(in: 1...24, using: &generator),
                memory: Int.random(in: 8...96, using: &generator), replicas: n % 9 == 0 ? 3 : 1, sameZone: n % 18 == 0,
                submitted: -Double(n * 7), runtime: 1_800 + n * 60)
        }
        let policy = Fixture.policy([Fixture.tenant("acme", weight: 2), Fixture.tenant("beta")])
        let fresh = Scheduler.schedule(cluster: nodes, running: running, pending: pending, policy: policy)
        let kept = Scheduler.schedule(prepared: prepared, running: running, pending: pending, policy: policy)
        #expect(fresh.placements.count > 10 && !fresh.pending.isEmpty, "the round places some jobs and leaves some waiting")
        #expect(kept.placements == fresh.placements)
        #expect(kept.pending == fresh.pending)

        // A round works on a copy: the prepared cluster is unchanged by it.
        let again = Scheduler.schedule(prepared: prepared, running: running, pending: pending, policy: policy)
        #expect(again.placements == fresh.placements)
    }
}
