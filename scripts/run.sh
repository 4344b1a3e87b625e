#!/usr/bin/env bash
# `make run`: the system on this machine. Starts the private broker and database, builds, starts
# two replicas of the demo worker, sends the sample workload, prints a summary, stops the workers
# (gracefully) and leaves the services up for agentctl. `make services-stop` ends them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== starting RabbitMQ and PostgreSQL (private, under .data/)"
eval "$(scripts/services.sh start)"
export AGENTMGR_AMQP_URL AGENTMGR_DATABASE_URL

echo "== building"
swift build 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | grep -v "^\[" || true
bin="$(swift build --show-bin-path)"
logs=.data/logs
mkdir -p "$logs"

echo "== migrating the database"
"$bin/agentctl" migrate

pids=()
stop_workers() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        if wait "$pid"; then :; else echo "worker $pid exited with status $?" >&2; fi
    done
    pids=()
}
trap stop_workers EXIT

echo "== starting workers (2 replicas of demo-worker; logs in $logs/)"
for replica in 1 2; do
    "$bin/demo-worker" >"$logs/demo-worker-$replica.log" 2>&1 &
    pids+=($!)
done

echo "== sample workload"
"$bin/agentctl" demo run --count 2000

echo
echo "== stopping workers (SIGTERM: they drain and exit 0)"
stop_workers
trap - EXIT
cat <<MSG

The broker and database are still running. To look around:
  eval "\$(make -s services)"
  $bin/agentctl events --limit 10
  $bin/agentctl dead-letters demo-worker
When done: make services-stop
MSG
