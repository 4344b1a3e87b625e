# Sourced by scripts/run.sh and scripts/bench.sh: start workers, each as itself (its own broker user
# and database role from `services.sh worker-env`, its own metrics port), and stop them gracefully.
#
#   start_workers SERVICES_SCRIPT BIN_DIR LOG_DIR LOG_PREFIX FIRST_PORT REPLICAS WORKER...
# sets: pids (all started), started ("worker-replica=pid" each), next_port (first port not used).

pids=()
started=()

stop_workers() {  # SIGTERM: they finish what they hold, publish their outbox, exit 0
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        if wait "$pid"; then :; else echo "worker $pid exited with status $?" >&2; fi
    done
    pids=()
}

start_workers() {
    local services="$1" bin="$2" logs="$3" prefix="$4" port="$5" replicas="$6" replica worker
    shift 6
    local -A credentials
    for worker in "$@"; do
        credentials[$worker]="$(bash "$services" worker-env "$worker")"
    done
    for ((replica = 1; replica <= replicas; replica++)); do
        for worker in "$@"; do
            (eval "${credentials[$worker]}"; export AGENTMGR_METRICS_PORT=$port; exec "$bin/$worker") \
                >"$logs/$prefix$worker-$replica.log" 2>&1 &
            pids+=($!)
            started+=("$worker-$replica=$!")
            echo "   $worker #$replica: pid $!, metrics on http://127.0.0.1:$port/metrics"
            port=$((port + 1))
        done
    done
    next_port=$port
}

# start_node_agents SERVICES_SCRIPT BIN_DIR LOG_DIR FIRST_PORT NODE_ID...
# One node agent per node (all on this machine: peers at 127.0.0.1), each as the node-agent
# broker user and database role, runs under .data/node-agent/<node>. Adds to pids and started.
# AGENTMGR_NODE_FLAVOR, _POOL, _GPUS, _CPU, _MEMORY_GIB set by the caller: each agent registers
# its node with that capacity (docs/node-agent.md).
start_node_agents() {
    local services="$1" bin="$2" logs="$3" port="$4" credentials node
    shift 4
    credentials="$(bash "$services" worker-env node-agent)"
    for node in "$@"; do
        (eval "$credentials"; export AGENTMGR_METRICS_PORT=$port AGENTMGR_NODE_ID="$node" AGENTMGR_NODE_PEER_ADDRESS=127.0.0.1
            export AGENTMGR_NODE_FLAVOR="${AGENTMGR_NODE_FLAVOR:-}" AGENTMGR_NODE_POOL="${AGENTMGR_NODE_POOL:-}" \
                AGENTMGR_NODE_GPUS="${AGENTMGR_NODE_GPUS:-}" AGENTMGR_NODE_CPU="${AGENTMGR_NODE_CPU:-}" \
                AGENTMGR_NODE_MEMORY_GIB="${AGENTMGR_NODE_MEMORY_GIB:-}"
            exec "$bin/node-agent") >"$logs/node-agent-$node.log" 2>&1 &
        pids+=($!)
        started+=("node-agent-$node=$!")
        echo "   node-agent for $node: pid $!, metrics on http://127.0.0.1:$port/metrics"
        port=$((port + 1))
    done
    next_port=$port
}
