-- The log of record, and the runtime tables every worker shares: inbox (what it consumed),
-- outbox (what it will publish) and failure counts for dead-lettering.

CREATE TABLE events (
    seq            bigserial PRIMARY KEY,          -- order in which the log recorded events
    id             uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    schema_version integer     NOT NULL CHECK (schema_version >= 1),
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    producer       text        NOT NULL,
    tenant         text,
    subjects       jsonb       NOT NULL DEFAULT '{}',
    correlation_id uuid,
    causation_id   uuid,
    payload        jsonb       NOT NULL
);
CREATE INDEX events_type_time ON events (type, occurred_at);
CREATE INDEX events_correlation ON events (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX events_tenant_time ON events (tenant, occurred_at) WHERE tenant IS NOT NULL;

-- Append-only: an audit log that can be edited is not one.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Messages committed with a worker's state change, waiting for the relay to publish them.
CREATE TABLE outbox (
    seq         bigserial PRIMARY KEY,
    exchange    text        NOT NULL,
    routing_key text        NOT NULL,
    message_id  text        NOT NULL,
    properties  jsonb       NOT NULL DEFAULT '{}',   -- type, priority, correlation_id, reply_to, headers
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Outbox rows that AMQP cannot carry (for example a property over 255 bytes), set aside by the
-- relay so they do not block the rows behind them.
CREATE TABLE outbox_failed (
    seq         bigint PRIMARY KEY,
    exchange    text        NOT NULL,
    routing_key text        NOT NULL,
    message_id  text        NOT NULL,
    properties  jsonb       NOT NULL,
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now(),
    reason      text        NOT NULL
);

-- One row per message a consumer has applied: a redelivery finds its row and is skipped.
CREATE TABLE inbox (
    consumer    text        NOT NULL,
    message_id  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Handler failures per message, so the attempt count survives redeliveries and restarts.
CREATE TABLE inbox_failures (
    consumer   text        NOT NULL,
    message_id text        NOT NULL,
    attempts   integer     NOT NULL,
    last_error text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
