-- The node agent's slice (issue 6): the runs it launched on its node and the checkpoints they
-- reported. One run = one replica of one job, started once; a resumed job is a new run.
CREATE TABLE runs (
    run_id          uuid        PRIMARY KEY,
    job_id          uuid        NOT NULL,
    node_id         text        NOT NULL,
    rank            integer     NOT NULL,
    world_size      integer     NOT NULL,
    nodes           text[]      NOT NULL,                -- the node of every rank (peers' addresses)
    state           text        NOT NULL DEFAULT 'starting'
                    CHECK (state IN ('starting', 'running', 'succeeded', 'failed', 'timed_out', 'lost')),
    pid             integer,
    command         text,
    log_path        text,
    checkpoint_dir  text,
    resumed_from    text,
    exit_code       integer,
    signal          integer,
    last_step       bigint,
    last_metrics    jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    UNIQUE (job_id, rank, created_at)
);
CREATE INDEX runs_node_active ON runs (node_id) WHERE state IN ('starting', 'running');
CREATE INDEX runs_job ON runs (job_id);

CREATE TABLE checkpoints (
    job_id      uuid        NOT NULL,
    run_id      uuid        NOT NULL REFERENCES runs,
    step        bigint      NOT NULL,
    uri         text        NOT NULL,
    metrics     jsonb       NOT NULL DEFAULT '{}',
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, step)
);
CREATE INDEX checkpoints_job_step ON checkpoints (job_id, step DESC);

DO $$
BEGIN
    CREATE ROLE agentmgr_node_agent NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;
GRANT agentmgr_runtime TO agentmgr_node_agent;
GRANT SELECT, INSERT, UPDATE ON runs, checkpoints TO agentmgr_node_agent;
-- What to run: the job and its agent version (admission's tables, read only).
GRANT SELECT ON jobs, agent_versions TO agentmgr_node_agent;
