-- Rollback (issue 6): `agentctl jobs rollback` restarts a running job from an earlier checkpoint.
-- The job's runs from then on are a new attempt (retries, issue 7, will be attempts too); each
-- stage and rank has one run per attempt.
ALTER TABLE runs ADD COLUMN attempt integer NOT NULL DEFAULT 0;
-- The checkpoint a run resumes from when it is not the job's newest (a rollback's target).
ALTER TABLE runs ADD COLUMN resume_from text;
-- Why a running run was asked to stop: job_ended (a gang's rank 0 ended: grace period, then
-- SIGTERM) or rolled_back (SIGTERM now; its end is not the job's).
ALTER TABLE runs ADD COLUMN stop_reason text;
DROP INDEX runs_job_stage_rank;
CREATE UNIQUE INDEX runs_job_attempt_stage_rank ON runs (job_id, attempt, stage, rank) WHERE state <> 'lost';
-- Checkpoints past the one a rollback went back to: kept for the record, never resumed from.
ALTER TABLE checkpoints ADD COLUMN discarded boolean NOT NULL DEFAULT false;
