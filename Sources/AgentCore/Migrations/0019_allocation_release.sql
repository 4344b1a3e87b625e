-- Releasing allocations (issue 5). pg_stat_statements put the scheduler's release of finished
-- jobs' allocations first among the database's statements in make bench: 14 ms per call, a
-- third of the database's time. Two causes:
--
-- 1. Its plan walked every open allocation (the partial index allocations_open is by node) and
--    filtered them by job, so each call cost O(running jobs): with statistics a little stale
--    (few open rows among many closed), that plan looked as cheap as any. Open allocations are
--    now also indexed by job, and the statement joins the finished jobs to it (SchedulerStore),
--    a lookup per job whatever the statistics say.
-- 2. The trigger that tells the scheduling round about releases ran once per row (PL/pgSQL, an
--    INSERT each). A statement-level trigger reads the transition tables and records all of a
--    statement's releases in one INSERT. (A trigger with transition tables cannot name columns,
--    so it fires for every UPDATE of allocations; the join finds the rows whose release is new.)
CREATE INDEX allocations_open_job ON allocations (job_id) WHERE released_at IS NULL;

DROP TRIGGER allocation_released ON allocations;
CREATE OR REPLACE FUNCTION scheduler_allocation_released() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO sched_released (job_id)
    SELECT DISTINCT n.job_id
    FROM released_new n JOIN released_old o USING (job_id, attempt, replica)
    WHERE o.released_at IS NULL AND n.released_at IS NOT NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER allocation_released AFTER UPDATE ON allocations
    REFERENCING OLD TABLE AS released_old NEW TABLE AS released_new
    FOR EACH STATEMENT EXECUTE FUNCTION scheduler_allocation_released();
