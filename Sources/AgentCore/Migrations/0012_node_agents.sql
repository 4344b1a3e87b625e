-- Node agents register their node and heartbeat (issue 6). This is the node agent's own record of
-- itself (one row per node, taken over by the newest agent of the node); the scheduler learns the
-- node's capacity from the node.registered event it emits, into its own `nodes` table.
CREATE TABLE node_agents (
    node_id      text        PRIMARY KEY,
    instance     uuid        NOT NULL,               -- this agent process; a newer one replaces it
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    backend      text        NOT NULL,               -- local or kubernetes
    capacity     jsonb,                              -- what it registered (null: node added by an operator)
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    running_runs integer     NOT NULL DEFAULT 0,
    stopped_at   timestamptz                         -- set when the agent stopped cleanly
);

GRANT SELECT, INSERT, UPDATE ON node_agents TO agentmgr_node_agent;
