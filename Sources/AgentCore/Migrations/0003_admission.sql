-- Owned by the admission worker: resource flavors and what capacity exists of each, tenants with
-- quotas and budgets, agents and their immutable versions, jobs, and every admission decision.

CREATE TABLE flavors (
    name                text PRIMARY KEY,
    description         text           NOT NULL DEFAULT '',
    gpu_type            text,                                  -- NULL for CPU-only flavors
    quota_unit          text           NOT NULL CHECK (quota_unit IN ('gpu', 'cpu')),
    price_per_unit_hour numeric(12, 4) NOT NULL CHECK (price_per_unit_hour >= 0),
    batch_discount      numeric(5, 4)  NOT NULL DEFAULT 0 CHECK (batch_discount >= 0 AND batch_discount < 1)
);

-- What admission knows of each flavor's capacity: node pools of one shape each
-- (from config/cluster.json; node registrations later).
CREATE TABLE flavor_pools (
    pool       text PRIMARY KEY,
    flavor     text    NOT NULL REFERENCES flavors,
    nodes      integer NOT NULL CHECK (nodes >= 0),
    gpus       integer NOT NULL CHECK (gpus >= 0),        -- per node
    cpu        integer NOT NULL CHECK (cpu >= 1),
    memory_gib integer NOT NULL CHECK (memory_gib >= 1),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flavor_pools_flavor ON flavor_pools (flavor);

CREATE TABLE tenants (
    name           text PRIMARY KEY,
    weight         numeric(8, 3)  NOT NULL DEFAULT 1 CHECK (weight > 0),
    cohort         text,
    monthly_budget numeric(14, 2) CHECK (monthly_budget >= 0),   -- NULL: no limit
    total_budget   numeric(14, 2) CHECK (total_budget >= 0),
    active         boolean        NOT NULL DEFAULT true,
    created_at     timestamptz    NOT NULL DEFAULT now()
);
CREATE INDEX tenants_cohort ON tenants (cohort) WHERE cohort IS NOT NULL;

-- In the flavor's quota unit (GPUs, or cores for CPU flavors).
CREATE TABLE tenant_quotas (
    tenant          text    NOT NULL REFERENCES tenants ON DELETE CASCADE,
    flavor          text    NOT NULL REFERENCES flavors,
    nominal         integer NOT NULL CHECK (nominal >= 0),
    borrowing_limit integer NOT NULL DEFAULT 0 CHECK (borrowing_limit >= 0),
    PRIMARY KEY (tenant, flavor)
);

-- Money reserved by admitted jobs (projected cost), per month ('2026-11') and in total ('total').
-- The cost accountant replaces reservations by metered cost as jobs run.
CREATE TABLE tenant_spend (
    tenant   text           NOT NULL REFERENCES tenants ON DELETE CASCADE,
    period   text           NOT NULL,
    reserved numeric(14, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, period)
);

CREATE TABLE agents (
    tenant      text        NOT NULL REFERENCES tenants,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    labels      jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, name)
);

CREATE TABLE agent_versions (
    tenant             text        NOT NULL,
    agent              text        NOT NULL,
    version            text        NOT NULL,
    image              text,
    command            text,
    framework          text        NOT NULL CHECK (framework IN ('pytorch', 'tensorflow', 'jax', 'custom')),
    default_flavor     text REFERENCES flavors,
    default_gpus       integer CHECK (default_gpus >= 0),
    default_cpu        integer CHECK (default_cpu >= 1),
    default_memory_gib integer CHECK (default_memory_gib >= 1),
    checkpoints        boolean     NOT NULL DEFAULT false,
    deprecated         boolean     NOT NULL DEFAULT false,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    seq                bigserial,                              -- registration order
    PRIMARY KEY (tenant, agent, version),
    FOREIGN KEY (tenant, agent) REFERENCES agents,
    CHECK (image IS NOT NULL OR command IS NOT NULL)
);

-- A version is immutable once registered; only its deprecated flag may change.
CREATE FUNCTION agent_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'agent versions cannot be deleted (deprecate them instead)' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.tenant, NEW.agent, NEW.version, NEW.image, NEW.command, NEW.framework, NEW.default_flavor, NEW.default_gpus,
        NEW.default_cpu, NEW.default_memory_gib, NEW.checkpoints, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.tenant, OLD.agent, OLD.version, OLD.image, OLD.command, OLD.framework, OLD.default_flavor, OLD.default_gpus,
        OLD.default_cpu, OLD.default_memory_gib, OLD.checkpoints, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'agent versions are immutable (register a new version)' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER agent_versions_immutable BEFORE UPDATE OR DELETE ON agent_versions
    FOR EACH ROW EXECUTE FUNCTION agent_versions_immutable();

CREATE TABLE jobs (
    id                          uuid PRIMARY KEY,
    tenant                      text           NOT NULL REFERENCES tenants,
    agent                       text           NOT NULL,
    agent_version               text           NOT NULL,
    name                        text,
    priority_class              text           NOT NULL CHECK (priority_class IN ('critical', 'high', 'normal', 'low', 'batch')),
    replicas                    integer        NOT NULL,
    flavor                      text           NOT NULL REFERENCES flavors,
    gpus                        integer        NOT NULL,
    cpu                         integer        NOT NULL,
    memory_gib                  integer        NOT NULL,
    max_runtime_seconds         integer        NOT NULL,
    checkpoint_interval_seconds integer,
    retry                       jsonb          NOT NULL,
    curriculum                  jsonb          NOT NULL DEFAULT '[]',
    depends_on                  uuid[]         NOT NULL DEFAULT '{}',
    labels                      jsonb          NOT NULL DEFAULT '{}',
    idempotency_key             text           NOT NULL,
    projected_cost              numeric(14, 2) NOT NULL,
    state                       text           NOT NULL DEFAULT 'admitted',
    submitted_at                timestamptz    NOT NULL,
    admitted_at                 timestamptz    NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant, agent, agent_version) REFERENCES agent_versions,
    UNIQUE (tenant, idempotency_key)
);
CREATE INDEX jobs_tenant_admitted ON jobs (tenant, admitted_at);
CREATE INDEX jobs_admitted ON jobs (admitted_at);

-- One decision per idempotency key within a tenant: a repeated request gets the first decision
-- again. Keys are scoped by the tenant named in the request, so tenants cannot see each other's.
CREATE TABLE admission_requests (
    tenant          text        NOT NULL,                   -- as requested; may name no real tenant
    idempotency_key text        NOT NULL,
    decision        text        NOT NULL CHECK (decision IN ('admitted', 'rejected')),
    job_id          uuid,
    priority_class  text,
    projected_cost  numeric(14, 2),
    reasons         jsonb       NOT NULL DEFAULT '[]',
    decided_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, idempotency_key)
);
CREATE INDEX admission_requests_decided ON admission_requests (decided_at);
