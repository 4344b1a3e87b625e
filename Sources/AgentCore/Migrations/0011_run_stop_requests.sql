-- A gang's other replicas stop when rank 0 ends (issue 6): rank 0's node agent sends job.finished
-- to every node of the job; each marks its runs of the job, and its supervisor stops them.
ALTER TABLE runs ADD COLUMN stop_requested boolean NOT NULL DEFAULT false;
ALTER TABLE runs DROP CONSTRAINT runs_state_check;
ALTER TABLE runs ADD CONSTRAINT runs_state_check
    CHECK (state IN ('starting', 'running', 'succeeded', 'failed', 'timed_out', 'lost', 'stopped'));
