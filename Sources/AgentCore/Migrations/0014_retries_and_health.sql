-- Retries, preemption and health (issue 7).

-- The scheduler's slice: a job's attempt (every requeue starts the next; runs and reports of an
-- earlier attempt are stale: fencing), its retry policy from job.admitted, when a requeued job may
-- be placed again, and the history of its attempts.
ALTER TABLE sched_jobs ADD COLUMN attempt integer NOT NULL DEFAULT 0;
ALTER TABLE sched_jobs ADD COLUMN retry jsonb NOT NULL DEFAULT '{"max_attempts": 3, "backoff_seconds": 30, "retry_on": ["node_lost", "preempted", "stalled"]}';
ALTER TABLE sched_jobs ADD COLUMN not_before timestamptz;
CREATE TABLE job_attempts (
    job_id     uuid        NOT NULL,
    attempt    integer     NOT NULL,
    nodes      text[]      NOT NULL,
    outcome    text        NOT NULL,               -- preempted, node_lost, stalled, failed, succeeded...
    reason     text,
    retried    boolean     NOT NULL,               -- whether the job was requeued after it
    ended_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, attempt)
);
GRANT SELECT, INSERT, UPDATE ON job_attempts TO agentmgr_scheduler;
-- Allocations stay a history: one row per replica per attempt.
ALTER TABLE allocations ADD COLUMN attempt integer NOT NULL DEFAULT 0;
ALTER TABLE allocations DROP CONSTRAINT allocations_pkey;
ALTER TABLE allocations ADD PRIMARY KEY (job_id, attempt, replica);

-- The node agent's slice: when a run last reported progress (the health checker's stall check).
ALTER TABLE runs ADD COLUMN progress_at timestamptz;
CREATE INDEX runs_running_progress ON runs (progress_at) WHERE state = 'running';
-- A node agent fences its runs by the job's current attempt (the scheduler's, read only).
GRANT SELECT ON sched_jobs TO agentmgr_node_agent;

-- Every worker replica stamps its heartbeat here (the consumer runtime does, for every worker).
CREATE TABLE worker_heartbeats (
    worker       text        NOT NULL,
    instance     uuid        NOT NULL,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz,
    PRIMARY KEY (worker, instance)
);
GRANT SELECT, INSERT, UPDATE ON worker_heartbeats TO agentmgr_runtime;

DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['agentmgr_health_checker', 'agentmgr_preemption'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END $$;
GRANT agentmgr_runtime TO agentmgr_health_checker, agentmgr_preemption;

-- The health checker's slice: what it last concluded about each node, run and worker replica, so
-- it emits an event on a change only (several replicas race for the same row: one wins).
CREATE TABLE health_nodes (
    node_id    text        PRIMARY KEY,
    state      text        NOT NULL CHECK (state IN ('ok', 'lost')),
    reason     text,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE health_stalls (
    run_id      uuid        PRIMARY KEY,
    job_id      uuid        NOT NULL,
    attempt     integer     NOT NULL,
    detected_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE health_workers (
    worker     text        NOT NULL,
    instance   uuid        NOT NULL,
    state      text        NOT NULL CHECK (state IN ('ok', 'silent')),
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (worker, instance)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON health_nodes, health_stalls, health_workers TO agentmgr_health_checker;
GRANT SELECT ON node_agents, runs, jobs, nodes, sched_jobs TO agentmgr_health_checker;

-- The preemption worker's slice: the preemptions it asked for (a victim is asked once per attempt).
CREATE TABLE preemptions (
    victim_job_id    uuid        NOT NULL,
    victim_attempt   integer     NOT NULL,
    preemptor_job_id uuid        NOT NULL,
    reason           text        NOT NULL,             -- lower_priority or reclaim_borrowed
    work_lost        numeric(14, 4) NOT NULL,          -- money: unit-seconds since the last checkpoint × price
    requested_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (victim_job_id, victim_attempt)
);
CREATE INDEX preemptions_preemptor ON preemptions (preemptor_job_id);
GRANT SELECT, INSERT, UPDATE ON preemptions TO agentmgr_preemption;
GRANT SELECT ON sched_jobs, allocations, nodes, flavors, tenant_quotas, runs, checkpoints TO agentmgr_preemption;

-- A run the preemption worker stopped ends `preempted`.
ALTER TABLE runs DROP CONSTRAINT runs_state_check;
ALTER TABLE runs ADD CONSTRAINT runs_state_check
    CHECK (state IN ('starting', 'running', 'succeeded', 'failed', 'timed_out', 'lost', 'stopped', 'preempted'));
