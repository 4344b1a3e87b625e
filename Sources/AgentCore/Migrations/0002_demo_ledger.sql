-- Owned by the demo-worker: a ledger that makes exactly-once visible. Each demo.task adds
-- its amount to an account once; a duplicate application would break sum(amount) = balance.
CREATE TABLE demo_ledger (
    task_id    uuid PRIMARY KEY,
    account    text        NOT NULL,
    amount     bigint      NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE demo_balances (
    account       text PRIMARY KEY,
    balance       bigint  NOT NULL,
    applied_tasks integer NOT NULL
);
