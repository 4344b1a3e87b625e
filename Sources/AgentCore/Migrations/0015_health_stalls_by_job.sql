-- The health checker clears the stalls of jobs that ended or moved to a later attempt.
CREATE INDEX health_stalls_job ON health_stalls (job_id);
