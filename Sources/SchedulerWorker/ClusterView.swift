import Foundation
import Postgres
import Scheduling

/// The leader's picture of the cluster (nodes with what is allocated on them, and running jobs),
/// kept between the rounds of one leadership epoch, so a round reads only what changed instead of
/// the whole cluster: jobs released since (`sched_released`, filled by trigger) and, when the node
/// registry's version moved, everything again. The loop replaces its view only after a round
/// commits, so a rolled-back round cannot leave phantom allocations in it.
struct ClusterView: Sendable {
    let epoch: Int64
    let nodesVersion: Int64
    private(set) var nodes: [SchedulingNode]
    private let nodeIndex: [String: Int]
    private(set) var running: [UUID: RunningJob]
    /// The nodes as a round takes them (indexes by free capacity), kept current with `nodes`.
    private(set) var prepared: PreparedCluster
    /// The running jobs as a round counts them (resolved against `prepared`), kept current with `running`.
    private(set) var held: HeldJobs

    init(epoch: Int64, nodesVersion: Int64, nodes: [SchedulingNode], running: [RunningJob]) {
        self.epoch = epoch
        self.nodesVersion = nodesVersion
        self.nodes = nodes
        nodeIndex = Dictionary(nodes.indices.map { (nodes[$0].id, $0) }, uniquingKeysWith: { first, _ in first })
        self.running = Dictionary(running.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        prepared = PreparedCluster(nodes)
        held = HeldJobs(Array(self.running.values), in: prepared)
    }

    /// Everything from the database: nodes with their open allocations, and running jobs.
    static func load(epoch: Int64, nodesVersion: Int64, in db: PostgresConnection) throws -> ClusterView {
        let cluster = try SchedulerStore.cluster(in: db)
        return ClusterView(epoch: epoch, nodesVersion: nodesVersion, nodes: cluster.nodes, running: cluster.running)
    }

    /// Gives back the capacity of released jobs. Jobs it does not hold (released before it was
    /// loaded) are ignored, so a release is never counted twice.
    mutating func release(_ jobIDs: [UUID]) {
        for id in jobIDs {
            guard let job = running.removeValue(forKey: id) else { continue }
            held.remove(id)
            for node in job.nodes {
                guard let index = nodeIndex[node] else { continue }
                nodes[index].allocated = nodes[index].allocated - job.perReplica
                prepared.setFree(at: index, to: nodes[index].free)
            }
        }
    }

    /// Takes the capacity of a job just placed (a job placed again after a requeue first gives
    /// back what its earlier placement held, should that release not have reached this view yet).
    mutating func place(_ job: RunningJob) {
        release([job.id])
        for node in job.nodes {
            guard let index = nodeIndex[node] else { continue }
            nodes[index].allocated = nodes[index].allocated + job.perReplica
            prepared.setFree(at: index, to: nodes[index].free)
        }
        running[job.id] = job
        held.insert(job, in: prepared)
    }
}
