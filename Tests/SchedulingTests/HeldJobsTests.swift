import Foundation
@testable import Scheduling
import Testing

@Suite("Running jobs kept resolved between rounds count as the running jobs given afresh")
struct HeldJobsTests {
    @Test("After random placements, releases and requeues (gangs, lost and unlisted nodes, an unknown tenant and flavor), rounds place, explain and backfill alike")
    func keptEqualsFresh() {
        var generator = SplitMix(seed: 11)
        let flavors = [("gpu-v100", 8, 96, 384), ("gpu-t4", 2, 32, 128), ("cpu", 0, 64, 256)]
        let nodes: [SchedulingNode] = (0..<48).map { n in
            let (flavor, gpus, cpu, memory) = flavors[n % flavors.count]
            let state: NodeState = n == 4 ? .cordoned : n == 9 || n == 13 ? .lost : .ready
            // Mostly full, so jobs wait for capacity and backfill around the reservations.
            let used = ResourceVector(gpus: max(0, gpus - n % 3), cpu: cpu - 8 * (n % 4) - 4, memoryGiB: memory / 2)
            return Fixture.node(
                String(format: "node-%03d", n), flavor: flavor, zone: "z\(n % 2)", state: state, gpus: gpus, cpu: cpu, memory: memory,
                used: used)
        }
        let prepared = PreparedCluster(nodes)
        var held = HeldJobs([], in: prepared)
        var running: [UUID: RunningJob] = [:]
        let tenants = ["acme", "beta", "gamma", "ghost"]  // ghost: a tenant the policy does not list

        for step in 0..<600 {
            let roll = Int.random(in: 0..<10, using: &generator)
            if roll < 3, let id = running.keys.sorted(by: { $0.uuidString < $1.uuidString }).randomElement(using: &generator) {
                running[id] = nil
                held.remove(id)
                continue
            }
            // A requeued job placed again (same id, other nodes), or a new one.
            let n = roll == 3 && !running.isEmpty ? Fixture.number(running.keys.min(by: { $0.uuidString < $1.uuidString })!) : step
            let first = nodes[Int.random(in: 0..<nodes.count, using: &generator)]
            let replicas = Int.random(in: 1...3, using: &generator)
            var placedOn = (0..<replicas).map { _ in
                nodes.filter { $0.flavor == first.flavor }.randomElement(using: &generator)!.id
            }
            if step % 41 == 0 { placedOn.append("node-unlisted") }  // a node the cluster does not list
            let flavor = step % 23 == 0 ? "gpu-gone" : first.flavor  // a flavor without nodes
            let job = Fixture.running(
                n, tenant: tenants[Int.random(in: 0..<tenants.count, using: &generator)], flavor: flavor,
                gpus: first.capacity.gpus == 0 ? 0 : Int.random(in: 1...2, using: &generator), cpu: Int.random(in: 1...8, using: &generator),
                memory: Int.random(in: 4...32, using: &generator), nodes: placedOn,
                endsIn: Double(Int.random(in: 600...20_000, using: &generator)))
            running[job.id] = job
            held.insert(job, in: prepared)
        }
        #expect(held.count == running.count)
        // What each tenant holds, summed job by job as a round once did, equals the sums kept
        // through the inserts and removals above.
        var expected: [String: [Int: HeldJobs.Holding]] = [:]
        for job in running.values {
            let flavor = prepared.flavorNumber.number(job.flavor) ?? -1
            let replicas = job.nodes.filter { prepared.nodeRef[$0]?.lost != true }.count
            expected[job.tenant, default: [:]][flavor + 1, default: HeldJobs.Holding()].gpus += replicas * job.perReplica.gpus
            expected[job.tenant]![flavor + 1]!.cpu += replicas * job.perReplica.cpu
            expected[job.tenant]![flavor + 1]!.memoryGiB += replicas * job.perReplica.memoryGiB
        }
        for (h, tenant) in held.tenantNames.enumerated() {
            for slot in 0..<held.flavorSlots {
                #expect(held.holdings[h * held.flavorSlots + slot] == expected[tenant]?[slot] ?? HeldJobs.Holding(), "\(tenant), slot \(slot)")
            }
        }
        #expect(running.values.contains { $0.nodes.contains("node-009") || $0.nodes.contains("node-013") }, "jobs on lost nodes")
        #expect(running.values.contains { $0.tenant == "ghost" } && running.values.contains { $0.flavor == "gpu-gone" })

        // Tight quotas and full nodes: what the running jobs hold decides who is placed, who waits
        // for quota, and the backfill reservations (from when each running job ends).
        let quotas = ["gpu-v100": TenantQuota(nominal: 40, borrowingLimit: 8), "gpu-t4": TenantQuota(nominal: 12), "cpu": TenantQuota(nominal: 200)]
        let policy = Fixture.policy([
            Fixture.tenant("acme", weight: 2, cohort: "lab", quotas: quotas), Fixture.tenant("beta", cohort: "lab", quotas: quotas),
            Fixture.tenant("gamma", quotas: quotas),
        ])
        let pending = (0..<150).map { n in
            let (flavor, gpus, _, _) = flavors[n % flavors.count]
            return Fixture.job(
                10_000 + n, tenant: ["acme", "beta", "gamma"][n % 3], SchedulingClass.allCases[n % SchedulingClass.allCases.count],
                flavor: flavor, gpus: gpus == 0 ? 0 : Int.random(in: 1...gpus, using: &generator), cpu: Int.random(in: 1...48, using: &generator),
                memory: Int.random(in: 8...160, using: &generator), replicas: n % 7 == 0 ? 4 : 1, sameZone: n % 14 == 0,
                submitted: -Double(n * 5), runtime: 600 + n * 30)
        }
        let fresh = Scheduler.schedule(prepared: prepared, running: Array(running.values), pending: pending, policy: policy)
        let kept = Scheduler.schedule(prepared: prepared, held: held, pending: pending, policy: policy)
        #expect(fresh.placements.count > 5, "the round places some jobs")
        #expect(fresh.placements.contains { $0.backfilled }, "and backfills some")
        #expect(Set(fresh.pending.map(\.reason.code)).count > 1, "and leaves jobs waiting for different reasons")
        #expect(kept.placements == fresh.placements)
        #expect(kept.pending == fresh.pending)

        // Without what they hold, the same round decides otherwise: the check above can fail.
        let empty = Scheduler.schedule(prepared: prepared, held: HeldJobs([], in: prepared), pending: pending, policy: policy)
        #expect(empty.placements != fresh.placements || empty.pending != fresh.pending)
    }
}
