-- Job dependencies at run time (issue 6): a job waits until every job in its depends_on has
-- finished successfully; when one fails, the job ends without running (dependency_failed).
ALTER TABLE sched_jobs ADD COLUMN depends_on uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE sched_jobs ADD COLUMN outcome text;  -- of a finished job, from job.finished
