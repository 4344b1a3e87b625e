-- Budget events in order (issue 8, after review). The cost accountant keeps one row per tenant
-- with what it last announced (over budget or not, under which policy) and locks it before it
-- reads any spending, so replicas decide one after the other on fresh figures. Each
-- budget.exceeded / budget.restored carries a version from one sequence, taken under that lock:
-- the scheduler applies an event only if it is newer than the last one it applied, whatever order
-- the broker delivers them in.
CREATE TABLE cost_budget_tenants (
    tenant     text        PRIMARY KEY,
    over       boolean     NOT NULL DEFAULT false,
    policy     text        CHECK (policy IN ('stop', 'downgrade')),   -- as announced with budget.exceeded
    version    bigint      NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE cost_budget_versions;
GRANT SELECT, INSERT, UPDATE ON cost_budget_tenants TO agentmgr_cost_accountant;
GRANT USAGE ON SEQUENCE cost_budget_versions TO agentmgr_cost_accountant;

-- The scheduler keeps a tenant's row after budget.restored (held = false) with the version it
-- applied, so that an older budget.exceeded arriving late changes nothing.
ALTER TABLE sched_budget_holds ADD COLUMN held boolean NOT NULL DEFAULT true;
ALTER TABLE sched_budget_holds ADD COLUMN version bigint NOT NULL DEFAULT 0;
