-- Curricula (issue 6): a job's stages run one after another on the job's nodes, each a new run
-- resuming from the job's newest checkpoint. The stage a run belongs to, by index.
ALTER TABLE runs ADD COLUMN stage integer NOT NULL DEFAULT 0;
ALTER TABLE runs DROP CONSTRAINT runs_job_id_rank_created_at_key;
CREATE UNIQUE INDEX runs_job_stage_rank ON runs (job_id, stage, rank) WHERE state <> 'lost';
