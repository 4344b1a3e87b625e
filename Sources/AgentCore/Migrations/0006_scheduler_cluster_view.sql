-- The scheduler leader keeps nodes and running jobs in memory between rounds instead of reading
-- the whole cluster every round (issue 5: rounds must cost what changed, not the cluster's size).
-- Two small tables tell it what changed under it:

-- Bumped (by trigger, whoever writes) on every change to the node registry: the leader reloads the
-- cluster when the version it loaded is no longer current.
CREATE TABLE scheduler_cluster (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    nodes_version bigint  NOT NULL DEFAULT 0
);
INSERT INTO scheduler_cluster DEFAULT VALUES;

-- Jobs whose allocations were released (by trigger, whoever releases them: job.finished today,
-- preemption later), waiting for the leader to return their capacity to its view; it deletes the
-- rows in its round's transaction.
CREATE TABLE sched_released (
    job_id      uuid        PRIMARY KEY,
    released_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION scheduler_nodes_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    UPDATE scheduler_cluster SET nodes_version = nodes_version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER nodes_changed AFTER INSERT OR DELETE OR UPDATE OF state, pool, flavor, zone, rack, gpus, cpu, memory_gib
    ON nodes FOR EACH STATEMENT EXECUTE FUNCTION scheduler_nodes_changed();

CREATE FUNCTION scheduler_allocation_released() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO sched_released (job_id) VALUES (NEW.job_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER allocation_released AFTER UPDATE OF released_at ON allocations
    FOR EACH ROW WHEN (OLD.released_at IS NULL AND NEW.released_at IS NOT NULL)
    EXECUTE FUNCTION scheduler_allocation_released();

GRANT SELECT, UPDATE ON scheduler_cluster TO agentmgr_scheduler;
GRANT SELECT, INSERT, UPDATE, DELETE ON sched_released TO agentmgr_scheduler;
