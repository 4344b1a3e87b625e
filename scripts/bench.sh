#!/usr/bin/env bash
# `make bench`: the end-to-end benchmark (docs/benchmarks.md, "End-to-end benchmark"). Starts the
# private broker and database, builds in release mode, sets up a bench registry and ~5,000
# simulated nodes, starts the admission, scheduler and cost-accountant workers (release binaries,
# each with its own credentials and metrics port; the accountant releases each finished job's
# reservation), runs e2e-bench at a fixed offered rate and then as fast as it goes,
# writes bench/results.json and prints a Markdown table, then stops the workers (SIGTERM).
# The services are left running (make services-stop ends them).
#
# Knobs (environment): BENCH_RATE (1000 jobs/s), BENCH_DURATION (20 s), BENCH_JOBS (20000, the
# as-fast-as-it-goes run), BENCH_BATCH (50 jobs per confirm window), BENCH_SUBMIT_BATCH (50: most jobs per request message, batch submission; 1 = a message per job), BENCH_REPLICAS (1 or 2 per worker; default 1),
# BENCH_NODES (~5000 total), BENCH_RUNTIME (5: simulated seconds each placed job runs before the
# bench publishes its job.finished, as node agents will; 0 = nothing finishes during a run), BENCH_TIMEOUT (300 s per run), BENCH_METRICS_PORT (first port, 9201),
# BENCH_SERVICES (the services script, default scripts/services.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rate="${BENCH_RATE:-1000}"
duration="${BENCH_DURATION:-20}"
jobs="${BENCH_JOBS:-20000}"
batch="${BENCH_BATCH:-50}"
submit_batch="${BENCH_SUBMIT_BATCH:-50}"
replicas="${BENCH_REPLICAS:-1}"
nodes="${BENCH_NODES:-5000}"
timeout="${BENCH_TIMEOUT:-300}"
runtime="${BENCH_RUNTIME:-5}"
port="${BENCH_METRICS_PORT:-9201}"
services="${BENCH_SERVICES:-scripts/services.sh}"
data="$(cd "$(dirname "$services")/.." && pwd -P)/.data"
run_id="bench-$(date -u +%Y%m%dt%H%M%S)-$RANDOM"

echo "== starting RabbitMQ and PostgreSQL (private, under $data/)"
eval "$(bash "$services" start)"
export AGENTMGR_AMQP_URL AGENTMGR_DATABASE_URL

echo "== building (release)"
swift build -c release 2>&1 | grep -E "error|warning: unre|Build complete" || true
bin="$(swift build -c release --show-bin-path)"
for tool in agentctl admission scheduler e2e-bench; do
    [[ -x "$bin/$tool" ]] || { echo "missing $bin/$tool (build failed?)" >&2; exit 1; }
done
logs=.data/logs
mkdir -p "$logs" bench

echo "== migrating the database"
"$bin/agentctl" migrate

echo "== registry: the sample tenants, and bench-a/bench-b/bench-c (weights 1/2/3, cohort bench, large quotas, no budget)"
AGENTCTL="$bin/agentctl" examples/setup-registry.sh >/dev/null
flavors="$(python3 -c 'import json; print(" ".join(f["name"] for f in json.load(open("config/flavors.json"))["flavors"]))')"
weight=1
for tenant in bench-a bench-b bench-c; do
    "$bin/agentctl" tenants show "$tenant" >/dev/null 2>&1 || "$bin/agentctl" tenants create "$tenant" --weight "$weight" --cohort bench >/dev/null
    for flavor in $flavors; do
        "$bin/agentctl" tenants set-quota "$tenant" --flavor "$flavor" --nominal 1000000 >/dev/null
    done
    if ! "$bin/agentctl" agents versions bench-trainer --tenant "$tenant" --output json 2>/dev/null | grep -q '"version":"1.0.0"'; then
        "$bin/agentctl" agents register bench-trainer@1.0.0 --tenant "$tenant" --image registry.example/bench/trainer:1.0.0 \
            --framework pytorch --flavor gpu-v100 --gpus 1 --cpu 8 --memory-gib 32 --description "e2e benchmark agent" >/dev/null
    fi
    weight=$((weight + 1))
done

echo "== simulated cluster: the PAI inventory (1,897 nodes), 2-GPU T4 and P100 pools, and 8-GPU pools up to ~$nodes nodes"
count_nodes() {
    "$bin/agentctl" nodes list --output json 2>/dev/null | python3 -c 'import json,sys; print(sum(json.loads(l)["nodes"] for l in sys.stdin if l.strip()))'
}
has_pool() { "$bin/agentctl" nodes list --output json 2>/dev/null | grep -q "\"pool\":\"$1\""; }
if ! has_pool p100; then
    "$bin/agentctl" nodes import-cluster --scale 1 | tail -1
fi
# The inventory's T4 and P100 pools (994 and 1,596 GPUs) are smaller than the workload's share of
# them (15% of GPU jobs each): without more, those jobs would wait for capacity at 1,000 jobs/s and
# the latencies would measure the cluster's size, not the pipeline. 2-GPU pools bring each to ~3,000.
for spec in "gpu-t4 1000" "gpu-p100 700"; do
    read -r flavor count <<<"$spec"
    has_pool "bench-${flavor#gpu-}-2gpu" || "$bin/agentctl" nodes add --pool "bench-${flavor#gpu-}-2gpu" --flavor "$flavor" \
        --count "$count" --gpus 2 --cpu 32 --memory-gib 128 --zones 4 | sed 's/^/   /'
done
existing="$(count_nodes)"
missing=$((nodes - existing))
if ((missing > 0)); then
    # Spread the rest over the 8-GPU flavors (bench pools, 4 zones).
    per=$(((missing + 2) / 3))
    for flavor in gpu-v100 gpu-v100m32 gpu-misc; do
        count=$((missing < per ? missing : per))
        ((count > 0)) || continue
        "$bin/agentctl" nodes add --pool "bench-${flavor#gpu-}-$existing" --flavor "$flavor" --count "$count" \
            --gpus 8 --cpu 96 --memory-gib 512 --zones 4 | sed 's/^/   /'
        missing=$((missing - count))
    done
fi
echo "   $(count_nodes) nodes"

source scripts/workers.sh
trap stop_workers EXIT

echo "== starting workers ($replicas replica(s) each of admission, scheduler and cost-accountant, release; logs in $logs/)"
start_workers "$services" "$bin" "$logs" bench- "$port" "$replicas" admission scheduler cost-accountant
port=$next_port
procs=()
for entry in "${started[@]}"; do procs+=(--process "$entry"); done
# Wait until every worker answers /healthz (at most 60 s).
for ((i = 0; i < 120; i++)); do
    ready=0
    for ((p = ${BENCH_METRICS_PORT:-9201}; p < port; p++)); do
        python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$p/healthz', timeout=1)" 2>/dev/null && ready=$((ready + 1))
    done
    ((ready == ${#pids[@]})) && break
    sleep 0.5
done
sleep 2  # let the scheduler take leadership and load the cluster

broker_pid="$(head -n1 "$data/rabbitmq/rabbitmq.pid" 2>/dev/null | tr -dc 0-9 || true)"
postgres_pid="$(head -n1 "$data/postgres/data/postmaster.pid" 2>/dev/null | tr -dc 0-9 || true)"
extra=()
[[ -n "$broker_pid" ]] && extra+=(--broker-pid "$broker_pid")
[[ -n "$postgres_pid" ]] && extra+=(--postgres-pid "$postgres_pid")

rm -f bench/results.json
status=0
# Statement-level database profile for the runs (pg_stat_statements, loaded by services.sh).
db_name="$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlparse(sys.argv[1]).path.lstrip("/"))' "$AGENTMGR_DATABASE_URL")"
pgss() { bash "$services" psql -d "$db_name" -q -v ON_ERROR_STOP=1 "$@" 2>/dev/null; }
pgss -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null ||
    echo "   (pg_stat_statements unavailable: restart the database with make services-stop to load it; no SQL profile)"
echo
echo "== 1. fixed offered rate: $rate jobs/s for $duration s (run $run_id)"
"$bin/e2e-bench" --mode fixed_rate --rate "$rate" --duration "$duration" --batch "$batch" --submit-batch "$submit_batch" --run-id "$run_id" \
    --runtime "$runtime" --timeout "$timeout" --release-previous "${procs[@]}" "${extra[@]}" >/dev/null || status=$?
echo
echo "== 2. as fast as it goes: $jobs jobs"
"$bin/e2e-bench" --mode max_rate --rate 0 --jobs "$jobs" --batch "$batch" --submit-batch "$submit_batch" --run-id "$run_id" \
    --runtime "$runtime" --timeout "$timeout" --release-previous "${procs[@]}" "${extra[@]}" || status=$?

echo
echo "== where the time goes: handler latency per worker (agentmgr_handler_seconds, since start)"
for ((p = ${BENCH_METRICS_PORT:-9201}; p < port; p++)); do
    python3 - "$p" <<'PY' || true
import sys, urllib.request
port = sys.argv[1]
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
except Exception as error:
    print(f"   :{port} no metrics ({error})"); sys.exit()
total = {}
for line in text.splitlines():
    if line.startswith("agentmgr_handler_seconds_sum") or line.startswith("agentmgr_handler_seconds_count") \
            or line.startswith("agentmgr_messages_consumed_total") or line.startswith("agentmgr_messages_applied_total") \
            or line.startswith("agentmgr_scheduler_"):
        name, value = line.rsplit(" ", 1)
        key = name.split("{")[0]
        total[key] = total.get(key, 0.0) + float(value)
count = total.get("agentmgr_handler_seconds_count", 0)
mean = total.get("agentmgr_handler_seconds_sum", 0) / count * 1000 if count else 0
print(f"   :{port} consumed {int(total.get('agentmgr_messages_consumed_total', 0))} messages"
      f" ({int(total.get('agentmgr_messages_applied_total', 0))} events or requests applied);"
      f" mean agentmgr_handler_seconds {mean:.2f} ms (the batch transaction that applied each, as each saw it)")
rounds = total.get("agentmgr_scheduler_rounds_total", 0)
if rounds:
    seconds = total.get("agentmgr_scheduler_round_seconds_sum", 0)
    placed = total.get("agentmgr_scheduler_placements_total", 0)
    print(f"   :{port} {int(rounds)} scheduling rounds, {placed / rounds:.1f} placements and {seconds / rounds * 1000:.2f} ms each on average")
PY
done

echo
echo "== where the database's time goes: top statements by total execution time, both runs (pg_stat_statements)"
pgss -P pager=off -c "
    SELECT round(total_exec_time::numeric / 1000, 2) AS total_s, calls, rows,
           round((total_exec_time / greatest(calls, 1))::numeric, 3) AS mean_ms,
           left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement
    FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY total_exec_time DESC LIMIT 12" | sed 's/^/   /' || true

echo
echo "== stopping workers (SIGTERM)"
stop_workers
trap - EXIT
echo "results: bench/results.json (figures and profile notes: docs/benchmarks.md)"
exit "$status"
