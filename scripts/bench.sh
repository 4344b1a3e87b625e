#!/usr/bin/env bash
# `make bench`: the end-to-end benchmark (docs/benchmarks.md, "End-to-end benchmark"). Starts the
# private broker and database, builds in release mode, sets up a bench registry and a simulated
# cluster with room for the whole flat-out burst (~20,000 nodes for 50,000 jobs), starts the
# admission, scheduler and cost-accountant workers (release binaries, each with its own credentials
# and metrics port; the accountant releases each finished job's reservation), runs e2e-bench at a
# fixed offered rate and then as fast as it goes, writes bench/results.json and prints a Markdown
# table, then stops the workers (SIGTERM). The services are left running (make services-stop ends them).
#
# Knobs (environment):
#   BENCH_RATE (1000 jobs/s) and BENCH_DURATION (20 s): the fixed-rate run;
#   BENCH_JOBS (50000): the flat-out run's burst, and what the cluster is sized for;
#   BENCH_RUNTIME (5): simulated seconds each job of the fixed-rate run runs before the bench
#     publishes its job.finished, as node agents do (0 = nothing finishes during the run);
#   BENCH_MAX_RUNTIME (0): the same for the flat-out run (0: the burst's jobs hold their nodes
#     until the next run frees them; 5 measures a steady state with 5,000 ends/s as well);
#   BENCH_BATCH (50 jobs per confirm window), BENCH_SUBMIT_BATCH (50: most jobs per request message,
#   batch submission; 1 = a message per job), BENCH_REPLICAS (1 or 2 per worker; default 1),
#   BENCH_TIMEOUT (300 s per run), BENCH_METRICS_PORT (first port, 9201),
#   BENCH_SERVICES (the services script, default scripts/services.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rate="${BENCH_RATE:-1000}"
duration="${BENCH_DURATION:-20}"
jobs="${BENCH_JOBS:-50000}"
batch="${BENCH_BATCH:-50}"
submit_batch="${BENCH_SUBMIT_BATCH:-50}"
replicas="${BENCH_REPLICAS:-1}"
timeout="${BENCH_TIMEOUT:-300}"
runtime="${BENCH_RUNTIME:-5}"
max_runtime="${BENCH_MAX_RUNTIME:-0}"
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

echo "== simulated cluster: the PAI inventory (1,897 nodes) and bench pools with room for all $jobs jobs of the flat-out run at once"
# The flat-out run measures admission and scheduling, not the cluster's size: every flavor gets
# room for its share of the burst (the workload's mix, e2e-bench/Workload.swift) with a quarter
# to spare for packing, on nodes of the flavor's shape (2 GPUs for T4 and P100, 8 for the rest,
# 96 cores for CPU jobs). Pools are added only for what is missing, and kept across runs.
"$bin/agentctl" nodes list --output json 2>/dev/null | grep -q '"pool":"p100"' || "$bin/agentctl" nodes import-cluster --scale 1 | tail -1
"$bin/agentctl" nodes list --output json | python3 -c '
import json, math, sys
jobs = int(sys.argv[1])
have = {}
for line in sys.stdin:
    if line.strip():
        pool = json.loads(line)
        unit = "cpu" if pool["flavor"] == "cpu" else "gpus"
        have[pool["flavor"]] = have.get(pool["flavor"], 0) + pool[unit]
# flavor: (share of all jobs, units per job on average, node shape: gpus, cores, memory GiB).
# GPU jobs are 95%: 75% 1 GPU, 18% 2, 7% 4 (2 on 2-GPU nodes); 7% are gangs of 2-4 one-GPU replicas.
# CPU jobs are 5%, 4-16 cores.
eight, two = (88 * 1.39 + 7 * 3) / 95, (88 * 1.25 + 7 * 3) / 95
mix = {"gpu-v100": (0.95 * 0.25, eight, 8, 96, 512), "gpu-v100m32": (0.95 * 0.20, eight, 8, 96, 512),
       "gpu-misc": (0.95 * 0.25, eight, 8, 96, 512), "gpu-p100": (0.95 * 0.15, two, 2, 32, 128),
       "gpu-t4": (0.95 * 0.15, two, 2, 32, 128), "cpu": (0.05, 10, 0, 96, 512)}
for flavor, (share, units, gpus, cpu, memory) in mix.items():
    missing = jobs * share * units * 1.25 - have.get(flavor, 0)
    nodes = math.ceil(missing / (gpus or cpu))
    if nodes > 0:
        print(flavor, nodes, gpus, cpu, memory)
' "$jobs" | while read -r flavor count gpus cpu memory; do
    pool="bench-${flavor#gpu-}-$(date +%s)"
    "$bin/agentctl" nodes add --pool "$pool" --flavor "$flavor" --count "$count" --gpus "$gpus" --cpu "$cpu" \
        --memory-gib "$memory" --zones 4 | sed 's/^/   /'
done
echo "   $("$bin/agentctl" nodes list --output json | python3 -c 'import json,sys; print(sum(json.loads(l)["nodes"] for l in sys.stdin if l.strip()))') nodes"

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
    --runtime "$max_runtime" --timeout "$timeout" --release-previous "${procs[@]}" "${extra[@]}" || status=$?

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
