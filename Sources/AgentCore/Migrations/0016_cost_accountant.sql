-- The cost accountant (issue 8): metering in money, budgets, enforcement.

-- Admission's tenants: when a budget warning fires (percent of the budget spent), and what happens
-- to the tenant's jobs once it is spent: `stop` (at their next checkpoint) or `downgrade` (they
-- keep running, preemptible by any other tenant's job).
ALTER TABLE tenants ADD COLUMN budget_warning_percent numeric(5, 2) NOT NULL DEFAULT 80
    CHECK (budget_warning_percent > 0 AND budget_warning_percent <= 100);
ALTER TABLE tenants ADD COLUMN over_budget text NOT NULL DEFAULT 'stop' CHECK (over_budget IN ('stop', 'downgrade'));

DO $$
BEGIN
    CREATE ROLE agentmgr_cost_accountant NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;
GRANT agentmgr_runtime TO agentmgr_cost_accountant;

-- The cost accountant's slice. One row per run (a replica of one attempt and curriculum stage):
-- what it is metered from (its start, the newest heartbeat that saw it running, its end) and the
-- rate it is metered at (taken when first seen: a price change applies to runs started after it).
CREATE TABLE cost_runs (
    run_id              uuid PRIMARY KEY,
    job_id              uuid           NOT NULL,
    tenant              text           NOT NULL,
    agent               text           NOT NULL,
    flavor              text           NOT NULL,
    priority_class      text           NOT NULL,
    node_id             text,
    units               integer        NOT NULL,            -- GPUs, or cores for CPU flavors, per replica
    unit                text           NOT NULL CHECK (unit IN ('gpu', 'cpu')),
    rate_per_hour       numeric(14, 6) NOT NULL,            -- units × price per unit-hour, batch discount applied
    started_at          timestamptz,
    seen_until          timestamptz,
    ended_at            timestamptz,
    outcome             text,
    seconds             numeric(14, 3) NOT NULL DEFAULT 0,
    cost                numeric(18, 8) NOT NULL DEFAULT 0,
    updated_at          timestamptz    NOT NULL DEFAULT now()
);
CREATE INDEX cost_runs_job ON cost_runs (job_id);
CREATE INDEX cost_runs_open ON cost_runs (tenant) WHERE ended_at IS NULL;

-- The ledger: each run's metered seconds and cost per UTC day (a run over midnight has two rows).
CREATE TABLE cost_ledger (
    run_id  uuid           NOT NULL REFERENCES cost_runs,
    day     date           NOT NULL,
    tenant  text           NOT NULL,
    job_id  uuid           NOT NULL,
    agent   text           NOT NULL,
    flavor  text           NOT NULL,
    seconds numeric(14, 3) NOT NULL,
    cost    numeric(18, 8) NOT NULL,
    PRIMARY KEY (run_id, day)
);
CREATE INDEX cost_ledger_tenant_day ON cost_ledger (tenant, day);

-- Per job: the projected cost admission reserved (in the month it was admitted), what it has
-- been metered so far, and how much of the reservation is released: min(metered, projected)
-- while it may still run, all of it once it ended.
CREATE TABLE cost_jobs (
    job_id          uuid           PRIMARY KEY,
    tenant          text           NOT NULL,
    reserved_period text           NOT NULL,
    projected       numeric(14, 2) NOT NULL,
    metered         numeric(18, 8) NOT NULL DEFAULT 0,
    released        numeric(18, 8) NOT NULL DEFAULT 0,
    ended_at        timestamptz,
    outcome         text
);

-- Per tenant and period ('2026-11', or 'total'): metered cost (by when it was incurred) and
-- reservations released (by the month they were made). Admission reads it: a tenant's committed
-- spend is admission's reserved − released + metered.
CREATE TABLE cost_spend (
    tenant   text           NOT NULL,
    period   text           NOT NULL,
    metered  numeric(18, 8) NOT NULL DEFAULT 0,
    released numeric(18, 8) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, period)
);

-- What the accountant last concluded about each budget (events on a change only).
CREATE TABLE cost_budget_states (
    tenant     text           NOT NULL,
    scope      text           NOT NULL CHECK (scope IN ('monthly', 'total')),
    period     text           NOT NULL,
    state      text           NOT NULL CHECK (state IN ('ok', 'warning', 'exceeded')),
    spent      numeric(18, 8) NOT NULL,
    budget     numeric(14, 2),
    changed_at timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, scope, period)
);

GRANT SELECT, INSERT, UPDATE ON cost_runs, cost_ledger, cost_jobs, cost_spend, cost_budget_states TO agentmgr_cost_accountant;
-- Jobs and rates to meter at; budgets and policies; what admission reserved (for the forecast).
GRANT SELECT ON jobs, flavors, tenants, tenant_spend TO agentmgr_cost_accountant;
-- Admission counts metered spend and released reservations against budgets.
GRANT SELECT ON cost_spend TO agentmgr_admission;

-- The scheduler's slice: tenants over budget (from budget.exceeded until budget.restored). With
-- policy `stop` their waiting jobs are held; with `downgrade` their jobs are marked over_budget and
-- the preemption worker may stop them for any other tenant's job.
CREATE TABLE sched_budget_holds (
    tenant  text        PRIMARY KEY,
    policy  text        NOT NULL CHECK (policy IN ('stop', 'downgrade')),
    message text        NOT NULL,
    since   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE sched_jobs ADD COLUMN over_budget boolean NOT NULL DEFAULT false;
GRANT SELECT, INSERT, UPDATE, DELETE ON sched_budget_holds TO agentmgr_scheduler;
-- A node agent does not launch a run of a tenant held with policy `stop`.
GRANT SELECT ON sched_budget_holds TO agentmgr_node_agent;
