-- Storage settings for the tables every job writes (issue 5).
--
-- Less ANALYZE. Under make bench, autovacuum's ANALYZE was up to a quarter of the database's CPU:
-- with the default scale factor (10%) each of these
-- tables was re-analyzed every few seconds, sampling 30,000 rows and sorting their jsonb columns.
-- They are read by key or by a time range, whose plans do not depend on fresh statistics.
-- Vacuum (dead rows, the visibility map) is unchanged.
ALTER TABLE events             SET (autovacuum_analyze_scale_factor = 0.5);
ALTER TABLE inbox              SET (autovacuum_analyze_scale_factor = 0.5);
ALTER TABLE jobs               SET (autovacuum_analyze_scale_factor = 0.5);
ALTER TABLE admission_requests SET (autovacuum_analyze_scale_factor = 0.5);
ALTER TABLE sched_jobs         SET (autovacuum_analyze_scale_factor = 0.5);
ALTER TABLE allocations        SET (autovacuum_analyze_scale_factor = 0.5);
ALTER TABLE cost_jobs          SET (autovacuum_analyze_scale_factor = 0.5);

-- Columns no query filters on by value (documents and messages): no statistics to gather.
ALTER TABLE events ALTER COLUMN payload SET STATISTICS 0, ALTER COLUMN subjects SET STATISTICS 0;
ALTER TABLE admission_requests ALTER COLUMN reasons SET STATISTICS 0;
ALTER TABLE sched_jobs ALTER COLUMN reason_details SET STATISTICS 0, ALTER COLUMN reason_message SET STATISTICS 0,
    ALTER COLUMN retry SET STATISTICS 0;

-- An outbox row lives for milliseconds and may hold a batch of a hundred events (tens of KB):
-- compressing it on the way in was wasted work. Stored out of line, uncompressed.
ALTER TABLE outbox ALTER COLUMN body SET STORAGE EXTERNAL;

-- Every event pays for every index on the log. Nothing reads events by tenant and time (audits
-- go by type, correlation or sequence), so that index goes; reads by type want the newest
-- (ORDER BY seq DESC LIMIT n: agentctl events --type, open alerts), so it is (type, seq).
DROP INDEX events_tenant_time;
DROP INDEX events_type_time;
CREATE INDEX events_type_seq ON events (type, seq);

-- An allocation's foreign keys cost 60% of its insert (two lookups and two row locks per
-- replica placed, ~40 µs). Only the scheduler writes allocations, in one statement that joins the
-- job's own sched_jobs row, for nodes from its nodes table; nothing deletes jobs or nodes. The
-- checks could never fail, so they go. (jobs keeps its keys to the registry, which other
-- components write.)
ALTER TABLE allocations DROP CONSTRAINT allocations_job_id_fkey, DROP CONSTRAINT allocations_node_id_fkey;
