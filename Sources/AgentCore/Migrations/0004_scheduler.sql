-- Owned by the scheduler: nodes and their state, the jobs it has to place, the allocation history,
-- and the leadership record that keeps several scheduler replicas from deciding at once.

CREATE TABLE nodes (
    id            text PRIMARY KEY,
    pool          text        NOT NULL,
    flavor        text        NOT NULL,
    zone          text        NOT NULL DEFAULT 'zone-a',
    rack          text        NOT NULL DEFAULT 'rack-1',
    state         text        NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'cordoned', 'draining', 'lost')),
    gpus          integer     NOT NULL CHECK (gpus >= 0),
    cpu           integer     NOT NULL CHECK (cpu >= 1),
    memory_gib    integer     NOT NULL CHECK (memory_gib >= 1),
    labels        jsonb       NOT NULL DEFAULT '{}',
    registered_at timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nodes_flavor ON nodes (flavor);

-- The scheduler's view of each admitted job.
CREATE TABLE sched_jobs (
    job_id              uuid PRIMARY KEY,
    tenant              text        NOT NULL,
    priority_class      text        NOT NULL,
    flavor              text        NOT NULL,
    gpus                integer     NOT NULL,
    cpu                 integer     NOT NULL,
    memory_gib          integer     NOT NULL,
    replicas            integer     NOT NULL,
    same_zone           boolean     NOT NULL DEFAULT false,
    submitted_at        timestamptz NOT NULL,
    max_runtime_seconds integer     NOT NULL,
    state               text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'scheduled', 'finished')),
    reason_code         text,
    reason_message      text,
    reason_details      jsonb,
    queue_position      integer,
    effective_class     text,
    borrowed_units      integer     NOT NULL DEFAULT 0,
    backfilled          boolean     NOT NULL DEFAULT false,
    scheduled_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sched_jobs_pending ON sched_jobs (state) WHERE state = 'pending';

-- Allocation history: one row per replica placed, closed when the replica's capacity is freed.
CREATE TABLE allocations (
    job_id       uuid        NOT NULL REFERENCES sched_jobs,
    replica      integer     NOT NULL,
    node_id      text        NOT NULL REFERENCES nodes,
    gpus         integer     NOT NULL,
    cpu          integer     NOT NULL,
    memory_gib   integer     NOT NULL,
    epoch        bigint      NOT NULL,            -- the leadership epoch that decided it
    allocated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    released_at  timestamptz,
    PRIMARY KEY (job_id, replica)
);
CREATE INDEX allocations_open ON allocations (node_id) WHERE released_at IS NULL;

-- Exactly one row. A replica becomes leader by bumping the epoch; every scheduling round locks
-- this row and checks its epoch, so a replica that lost leadership can never commit a decision.
CREATE TABLE scheduler_leader (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    epoch       bigint      NOT NULL,
    holder      text        NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO scheduler_leader (epoch, holder) VALUES (0, 'nobody');
