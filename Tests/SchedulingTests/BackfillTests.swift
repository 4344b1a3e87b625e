import Foundation
import Scheduling
import Testing

@Suite("EASY backfill: small jobs start ahead of a blocked one only if they do not delay its reservation")
struct BackfillTests {
    static func used(_ gpus: Int) -> ResourceVector { ResourceVector(gpus: gpus, cpu: 0, memoryGiB: 0) }

    /// n1 full until +2h, n2 half used until +1h, n3 with 2 GPUs free until +5h.
    static let nodes = [Fixture.node("n1", used: used(8)), Fixture.node("n2", used: used(4)), Fixture.node("n3", used: used(6))]
    static let running = [
        Fixture.running(1, gpus: 8, cpu: 0, memory: 0, nodes: ["n1"], endsIn: 7_200),
        Fixture.running(2, gpus: 4, cpu: 0, memory: 0, nodes: ["n2"], endsIn: 3_600),
        Fixture.running(3, gpus: 6, cpu: 0, memory: 0, nodes: ["n3"], endsIn: 18_000),
    ]
    static func job(_ n: Int, _ priorityClass: SchedulingClass = .normal, gpus: Int, runtime: Int, submitted: TimeInterval) -> PendingJob {
        Fixture.job(n, priorityClass, gpus: gpus, cpu: 0, memory: 0, submitted: submitted, runtime: runtime)
    }

    @Test("A short job starts ahead of the blocked one; a long one that would delay it waits with code reserved")
    func shortStartsLongWaits() throws {
        let jobs = [
            Self.job(1, .high, gpus: 8, runtime: 14_400, submitted: -100),  // blocked: reserves n2 at +1h
            Self.job(5, .high, gpus: 8, runtime: 14_400, submitted: -90),  // blocked too, but one reservation per flavor
            Self.job(2, gpus: 4, runtime: 10_800, submitted: -30),  // would take n2 past +1h
            Self.job(3, gpus: 4, runtime: 1_800, submitted: -20),  // ends before +1h
            Self.job(4, gpus: 2, runtime: 10_800, submitted: -10),  // fits n3, which is not reserved
        ]
        let result = Fixture.schedule(Self.nodes, running: Self.running, jobs)
        #expect(
            result.placements == [
                Placement(jobID: Fixture.id(3), nodes: ["n2"], backfilled: true),
                Placement(jobID: Fixture.id(4), nodes: ["n3"], backfilled: true),
            ])
        let blocked = try #require(result.status(1))
        #expect(blocked.reason.code == .capacity)
        #expect(blocked.reason.message == "needs 8 GPUs of gpu-v100; no node has a free GPU; reserved to start by 2027-01-15T09:00:00.000Z; 0 jobs ahead in class high")
        #expect(blocked.reason.details["startsBy"] == 1_800_003_600)
        let second = try #require(result.status(5))
        #expect(second.reason.message == "needs 8 GPUs of gpu-v100; no node has a free GPU; 1 job ahead in class high")
        let held = try #require(result.status(2))
        #expect(held.reason.code == .reserved)
        #expect(held.reason.message == "waiting for capacity reserved for job 00000001-0000-4000-8000-000000000001 (starts by 2027-01-15T09:00:00.000Z)")
        #expect(result.pending.map { Fixture.number($0.jobID) } == [1, 5, 2])
    }

    @Test("A reserved node may take a long job while it keeps enough for the reserved replica")
    func reservedNodeSlack() throws {
        let nodes = [Fixture.node("n1", used: Self.used(8)), Fixture.node("n2", used: Self.used(4))]
        let running = [
            Fixture.running(1, gpus: 8, cpu: 0, memory: 0, nodes: ["n1"], endsIn: 7_200),
            Fixture.running(2, gpus: 4, cpu: 0, memory: 0, nodes: ["n2"], endsIn: 3_600),
        ]
        let jobs = [
            Self.job(1, .high, gpus: 6, runtime: 14_400, submitted: -100),  // reserves 6 of n2's 8 at +1h: slack 2
            Self.job(2, gpus: 2, runtime: 10_800, submitted: -30),  // takes the slack
            Self.job(3, gpus: 2, runtime: 10_800, submitted: -20),  // no slack left: reserved
            Self.job(4, gpus: 2, runtime: 3_600, submitted: -10),  // ends exactly at +1h: fine
        ]
        let result = Fixture.schedule(nodes, running: running, jobs)
        #expect(
            result.placements == [
                Placement(jobID: Fixture.id(2), nodes: ["n2"], backfilled: true),
                Placement(jobID: Fixture.id(4), nodes: ["n2"], backfilled: true),
            ])
        #expect(try #require(result.status(3)).reason.code == .reserved)
    }

    @Test("Without backfill, lower jobs take what fits, and nothing is reserved")
    func backfillOff() throws {
        let jobs = [
            Self.job(1, .high, gpus: 8, runtime: 14_400, submitted: -100), Self.job(2, gpus: 4, runtime: 10_800, submitted: -30),
            Self.job(3, gpus: 4, runtime: 1_800, submitted: -20), Self.job(4, gpus: 2, runtime: 10_800, submitted: -10),
        ]
        let result = Fixture.schedule(Self.nodes, running: Self.running, jobs, policy: Fixture.policy(backfill: false))
        #expect(result.placements == [Placement(jobID: Fixture.id(2), nodes: ["n2"]), Placement(jobID: Fixture.id(4), nodes: ["n3"])])
        #expect(try #require(result.status(1)).reason.message == "needs 8 GPUs of gpu-v100; no node has a free GPU; 0 jobs ahead in class high")
        let queued = try #require(result.status(3))
        #expect(queued.reason.code == .queued)
        #expect(
            queued.reason.message
                == "needs 4 GPUs of gpu-v100; higher-ranked jobs took the free capacity this round; no node has a free GPU; 0 jobs ahead in class normal")
    }

    @Test("No reservation when the blocked job could not fit even after everything ends")
    func noReservationWhenHopeless() {
        let jobs = [Self.job(1, .high, gpus: 8, runtime: 3_600, submitted: -100), Self.job(2, gpus: 4, runtime: 10_800, submitted: -30)]
        let nodes = [Fixture.node("n1", gpus: 4)]
        let result = Fixture.schedule(nodes, jobs)
        #expect(result.placements == [Placement(jobID: Fixture.id(2), nodes: ["n1"])])
    }

    @Test("A long gang may use the slack of several reserved nodes, one replica's worth each")
    func gangUsesSlackAcrossReservedNodes() throws {
        let nodes = [Fixture.node("n1", used: Self.used(4)), Fixture.node("n2", used: Self.used(4))]
        let running = [
            Fixture.running(1, gpus: 4, cpu: 0, memory: 0, nodes: ["n1"], endsIn: 3_600),
            Fixture.running(2, gpus: 4, cpu: 0, memory: 0, nodes: ["n2"], endsIn: 3_600),
        ]
        let jobs = [
            Fixture.job(1, .high, gpus: 6, cpu: 0, memory: 0, replicas: 2, submitted: -100, runtime: 14_400),  // reserves 6 + 6 at +1h: slack 2 + 2
            Self.job(2, gpus: 2, runtime: 10_800, submitted: -30).withReplicas(2),  // one replica on each reserved node
            Self.job(3, gpus: 2, runtime: 10_800, submitted: -20),  // no slack left anywhere: reserved
            Self.job(4, gpus: 2, runtime: 1_800, submitted: -10),  // short: takes what is free
        ]
        let result = Fixture.schedule(nodes, running: running, jobs)
        #expect(
            result.placements == [
                Placement(jobID: Fixture.id(2), nodes: ["n1", "n2"], backfilled: true),
                Placement(jobID: Fixture.id(4), nodes: ["n1"], backfilled: true),
            ])
        #expect(try #require(result.status(3)).reason.code == .reserved)
        #expect(
            try #require(result.status(1)).reason.message
                == "needs 2 × 6 GPUs of gpu-v100 all at once; largest free: 1 node with 2 GPUs free; reserved to start by 2027-01-15T09:00:00.000Z; 0 jobs ahead in class high"
        )
    }

    @Test("A running gang frees every node it holds when it ends: the blocked job's reservation counts on all of them")
    func runningGangFreesAllItsNodes() throws {
        let nodes = [Fixture.node("n1", used: Self.used(8)), Fixture.node("n2", used: Self.used(8)), Fixture.node("n3", used: Self.used(8))]
        let running = [
            Fixture.running(1, gpus: 8, cpu: 0, memory: 0, nodes: ["n1", "n2"], endsIn: 3_600),  // a gang of two
            Fixture.running(2, gpus: 8, cpu: 0, memory: 0, nodes: ["n3"], endsIn: 18_000),
        ]
        let jobs = [Fixture.job(1, .high, gpus: 8, cpu: 0, memory: 0, replicas: 2, submitted: -100, runtime: 14_400)]
        let result = Fixture.schedule(nodes, running: running, jobs)
        #expect(result.placements.isEmpty)
        // Reserved for when the gang ends (+1h, both of its nodes), not for when n3 frees (+5h).
        #expect(try #require(result.status(1)).reason.details["startsBy"] == 1_800_003_600)
    }
}

extension PendingJob {
    func withReplicas(_ replicas: Int) -> PendingJob {
        var copy = self
        copy.replicas = replicas
        return copy
    }
}
