-- Releasing allocations (issue 5). pg_stat_statements put the scheduler's release of finished
-- jobs' allocations first among the database's statements in make bench: 14 ms per call, up to a
-- third of the database's time. Two causes:
--
-- 1. Its plan walked every open allocation (the partial index allocations_open) and filtered them
--    by job, O(running jobs) per call: ANALYZE had run when nothing was open, so the planner
--    thought that index empty. The statement now goes by the primary key (SchedulerStore.release).
-- 2. The trigger that tells the scheduling round about releases ran once per row (PL/pgSQL, an
--    INSERT each). A statement-level trigger reads the transition tables and records all of a
--    statement's releases in one INSERT. (A trigger with transition tables cannot name columns,
--    so it fires for every UPDATE of allocations; the join finds the rows whose release is new.)
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
