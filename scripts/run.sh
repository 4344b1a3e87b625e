#!/usr/bin/env bash
# `make run`: the system on this machine. Starts the private broker and database, builds, starts
# the workers (two replicas each), sends the sample workload, prints a summary, stops the workers
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

echo "== starting workers (2 replicas each of admission and demo-worker; logs in $logs/)"
for replica in 1 2; do
    "$bin/admission" >"$logs/admission-$replica.log" 2>&1 &
    pids+=($!)
    "$bin/demo-worker" >"$logs/demo-worker-$replica.log" 2>&1 &
    pids+=($!)
done

echo
echo "== 1. the consumer runtime: demo.task events through demo-worker, exactly once"
"$bin/agentctl" demo run --count 2000

echo
echo "== 2. registry: tenants, quotas, budgets, agents (examples/setup-registry.sh)"
AGENTCTL="$bin/agentctl" examples/setup-registry.sh
"$bin/agentctl" tenants list

echo
echo "== 3. job requests through the requests queue (examples/jobs/; same keys as last run = same decisions)"
"$bin/agentctl" submit examples/jobs/* || [[ $? == 3 ]]   # 3: some were rejected, as intended
python3 -c "import pika" 2>/dev/null || python3 -m pip install --quiet pika >/dev/null 2>&1 || true
if python3 -c "import pika, yaml" 2>/dev/null; then
    echo
    echo "== 4. the same queue from Python (examples/submit_with_pika.py)"
    python3 examples/submit_with_pika.py examples/jobs/resnet-sweep.yaml --key "pika-$(date +%s)" || true
fi

echo
echo "== admission decisions (agentctl jobs list)"
"$bin/agentctl" jobs list --limit 20

echo
echo "== stopping workers (SIGTERM: they drain and exit 0)"
stop_workers
trap - EXIT
cat <<MSG

The broker and database are still running. To look around:
  eval "\$(make -s services)"
  $bin/agentctl events --limit 10
  $bin/agentctl jobs list
  $bin/agentctl jobs show <job id or idempotency key>
  $bin/agentctl tenants show acme
  $bin/agentctl dead-letters demo-worker
When done: make services-stop
MSG
