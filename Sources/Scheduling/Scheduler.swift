import Foundation

/// The scheduling decision: a pure function of (cluster, running jobs, pending jobs, policy). No I/O,
/// no clock (the policy carries `now`), no randomness: the same inputs give the same result, so a
/// decision can be replayed from the event log.
///
/// ## Order of service
/// - **Class.** Strictly by effective class, critical first. A job's effective class is its class
///   raised one step per full `agingInterval` it has waited (`now - submittedAt`), at most to
///   critical (no aging when the interval is nil).
/// - **Tenants (weighted DRF).** Within a class, the tenant with the lowest weighted dominant share
///   goes next; ties by tenant name. A tenant's share of a resource is what it holds divided by the
///   cluster total of that resource; the resources are the GPUs of each flavor (one resource per
///   flavor), all cores and all memory; totals count ready, cordoned and draining nodes, not lost
///   ones. Its dominant share is the largest of those, divided by its weight. What it holds is its
///   running replicas (except those on lost nodes) plus the jobs placed earlier in this round, so
///   shares move as the round proceeds.
/// - **Within a tenant**, by submit time, then job id.
/// - Jobs of tenants absent from the policy come after all others (by class, submit time, id) and
///   wait with `unknownTenant`.
///
/// Every pending job gets exactly one turn per round, in that order. Its queue position is its rank
/// among the jobs left pending, in that order.
///
/// ## Quota
/// Counted per tenant and flavor in the flavor's quota unit: GPUs × replicas, or cores × replicas
/// for flavors whose `QuotaUnit` is `.cpu` (a flavor missing from `quotaUnits` counts GPUs). `used`
/// is the running replicas plus jobs placed this round. A job needing `need` units fits if
/// `used + need <= nominal + min(borrowingLimit, lendable)`, where `lendable` is, over the *other*
/// tenants of the same cohort, the sum of `max(0, nominal - used)` for that flavor, as it stands at
/// the job's turn. A tenant without a cohort cannot borrow; a flavor missing from a tenant's quotas
/// has nominal 0. A job needing 0 units always fits. Units placed beyond nominal are reported in
/// ``Placement/borrowedUnits``.
///
/// ## Placement
/// Only `ready` nodes of the job's flavor. Each replica goes to the node that, after taking it, has
/// the fewest free GPUs left; ties: fewest free cores, then least free memory, then node id. Replicas
/// may share a node. A gang is all or nothing. With `sameZone`, each zone is tried on its own and the
/// zone whose placement leaves the fewest free GPUs on the nodes it uses wins (ties: zone name);
/// zones are never mixed. (A single replica is always in one zone: it takes the plain best fit.)
///
/// ## Backfill (when `policy.backfill`)
/// The first job of a flavor, in order of service, that fits its quota but not the free capacity,
/// and that would fit once every running job (and every job placed this round) of the flavor has
/// ended, is the flavor's *blocked head*. Its reservation is the earliest time T at which, releasing
/// those jobs' replicas at their `endsBy` (placed jobs: now + max runtime) in time order, the gang
/// fits by the placement rule above, and the nodes it would then use. One reservation per flavor per
/// round. Every later job of that flavor may still start now if it does not delay the reservation:
/// it ends (now + max runtime) by T, or each of its replicas lands on an unreserved node or on a
/// reserved node whose free capacity at T, less what the reservation takes, still covers it. Such
/// placements are marked `backfilled`. A job that would fit but for the reservation waits with
/// `reserved`.
///
/// ## Explanations
/// Every job left pending gets a ``PendingStatus``: queue position, effective class, and a reason
/// (code, a one-line message, numbers in `details`). "N jobs ahead in class C" counts the jobs left
/// pending in the same effective class with a smaller queue position. The codes:
/// - `noNodes`: `no ready gpu-t4 nodes`
/// - `quota`: `tenant acme at quota for gpu-v100 (8/8 GPUs used, nominal 8); cohort research can
///   lend 0; 3 jobs ahead in class high` — used / ceiling (nominal + what it may borrow now);
///   `, needs N` is added when the ceiling is not reached yet; `, borrowing limit B` when the limit
///   caps what the cohort could lend; `no cohort to borrow from` without a cohort. Details: `used`,
///   `nominal`, `lendable`, `borrowingLimit`, `needed`, `ahead`.
/// - `capacity`: `needs 4 × 8 GPUs of gpu-v100 all at once; largest free: 2 nodes with 8 GPUs free;
///   1 job ahead in class normal` (`in one zone` for same-zone gangs; cores for CPU-only replicas;
///   `, but too few cores or too little memory with them` or `, but not enough in any one zone`
///   when the GPUs alone would do; `; reserved to start by <time>` on a blocked head). Details:
///   `replicas`, `perReplica` and `largestFree` (GPUs, or cores for CPU-only replicas: the unit of
///   the message), `nodesWithLargestFree`, `ahead`, and `startsBy` (Unix seconds) on a blocked head.
///   (At most six keys: a details dictionary of up to six entries takes half the memory of one of
///   seven or more, and there is one per pending job.)
/// - `queued`: as `capacity`, for a job that would have fit the capacity free when the round began
///   (higher-ranked jobs placed this round took it); the message says
///   `higher-ranked jobs took the free capacity this round`.
/// - `reserved`: `waiting for capacity reserved for job 01a1ee56-5e7b-754d-8416-01ead7953fa8 (starts by 2026-11-24T21:55:00.000Z)`.
///   Details: `startsBy`, `ahead`.
/// - `unknownTenant`: `tenant ghost is not in the scheduling policy`.
/// Numbers in messages are those at the end of the round.
public enum Scheduler {
    /// One scheduling round: which pending jobs to place now, and why each other one waits.
    ///
    /// Placements are in the order they were decided. Node ids must be unique; replicas and resources
    /// below 1 and 0 are taken as 1 and 0.
    public static func schedule(
        cluster nodes: [SchedulingNode], running: [RunningJob], pending: [PendingJob], policy: SchedulingPolicy
    ) -> SchedulingResult {
        var round = SchedulingRound(cluster: nodes, running: running, pending: pending, policy: policy)
        return round.finish()
    }

    /// The same decision over a cluster prepared earlier and kept current (``PreparedCluster``).
    public static func schedule(
        prepared cluster: PreparedCluster, running: [RunningJob], pending: [PendingJob], policy: SchedulingPolicy
    ) -> SchedulingResult {
        var round = SchedulingRound(prepared: cluster, running: running, pending: pending, policy: policy)
        return round.finish()
    }

    /// The same decision over a cluster and its running jobs, both prepared earlier and kept
    /// current (``PreparedCluster``, ``HeldJobs``).
    public static func schedule(
        prepared cluster: PreparedCluster, held: HeldJobs, pending: [PendingJob], policy: SchedulingPolicy
    ) -> SchedulingResult {
        var round = SchedulingRound(prepared: cluster, held: held, pending: pending, policy: policy)
        return round.finish()
    }
}
