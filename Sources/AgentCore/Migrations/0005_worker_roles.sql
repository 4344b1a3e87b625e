-- Least privilege: one group role per worker, granted only what its slice needs. Login roles
-- (scripts/services.sh db-user WORKER, or your own) are members of exactly one of them. The owner
-- role that runs migrations keeps DDL; workers cannot change the schema, or another slice's tables.
DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['agentmgr_runtime', 'agentmgr_admission', 'agentmgr_scheduler', 'agentmgr_demo_worker'] LOOP
        -- Roles belong to the whole server: databases migrated at the same moment race to create them.
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END $$;

-- What every worker's consumer runtime touches.
GRANT SELECT ON schema_migrations TO agentmgr_runtime;
GRANT SELECT, INSERT ON events TO agentmgr_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO agentmgr_runtime;  -- UPDATE: the relay locks rows FOR UPDATE
GRANT INSERT ON outbox_failed TO agentmgr_runtime;
GRANT SELECT, INSERT ON inbox TO agentmgr_runtime;
GRANT SELECT, INSERT, UPDATE ON inbox_failures TO agentmgr_runtime;
GRANT USAGE ON SEQUENCE events_seq_seq, outbox_seq_seq TO agentmgr_runtime;
GRANT agentmgr_runtime TO agentmgr_admission, agentmgr_scheduler, agentmgr_demo_worker;

-- admission: the registry, jobs and decisions; it loads the catalog at start.
GRANT SELECT, INSERT, UPDATE, DELETE ON flavors, flavor_pools TO agentmgr_admission;
GRANT SELECT, INSERT, UPDATE ON tenants, tenant_quotas, tenant_spend, agents, agent_versions, jobs, admission_requests
    TO agentmgr_admission;
GRANT USAGE ON SEQUENCE agent_versions_seq_seq TO agentmgr_admission;

-- scheduler: its own tables; the registry read only.
GRANT SELECT, INSERT, UPDATE ON nodes, sched_jobs, allocations, scheduler_leader TO agentmgr_scheduler;
GRANT SELECT ON tenants, tenant_quotas, flavors TO agentmgr_scheduler;

-- demo-worker: its ledger.
GRANT SELECT, INSERT, UPDATE ON demo_ledger, demo_balances TO agentmgr_demo_worker;
