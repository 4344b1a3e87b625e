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

source scripts/workers.sh
trap stop_workers EXIT

echo "== starting workers (2 replicas each of admission, scheduler, demo-worker, health-checker, preemption, cost-accountant; logs in $logs/)"
# Each worker connects as itself: its own broker user and database role, allowed only its slice;
# each process serves Prometheus /metrics and /healthz on its own port from 9101. Node agents beat
# every second here, and the health checker calls a node lost after 3 missed beats (defaults: 5 s, 3);
# they report their running runs for metering every 2 s, and budgets are checked every 5 s
# besides whenever spending moves (defaults: 30 s, 30 s).
export AGENTMGR_HEARTBEAT_SECONDS=1 AGENTMGR_LOST_AFTER_MISSED=3 AGENTMGR_USAGE_SECONDS=2 AGENTMGR_BUDGET_CHECK_SECONDS=5
run_started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start_workers scripts/services.sh "$bin" "$logs" "" 9101 2 admission scheduler demo-worker health-checker preemption cost-accountant

echo
echo "== 1. the consumer runtime: demo.task events through demo-worker, exactly once"
"$bin/agentctl" demo run --count 2000

echo
echo "== 2. registry and cluster: tenants, quotas, budgets, agents, simulated nodes"
AGENTCTL="$bin/agentctl" examples/setup-registry.sh
AGENTCTL="$bin/agentctl" examples/setup-cluster.sh
echo "   node agents for two cpu-local nodes (they register their node and run jobs for real, on this machine):"
AGENTMGR_NODE_FLAVOR=cpu-local AGENTMGR_NODE_POOL=local AGENTMGR_NODE_CPU=8 AGENTMGR_NODE_MEMORY_GIB=16 \
    start_node_agents scripts/services.sh "$bin" "$logs" "$next_port" local-0001 local-0002
for ((i = 0; i < 60; i++)); do  # the scheduler learns the nodes from their agents' node.registered
    "$bin/agentctl" nodes list --output json | grep -q '"pool":"local","ready":2}' && break
    sleep 0.5
done
"$bin/agentctl" nodes agents
"$bin/agentctl" tenants list
echo
"$bin/agentctl" nodes list

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
# show_finished JOB_ID: how the job ended, from its last job.finished event.
show_finished() {
    "$bin/agentctl" events --type job.finished --correlation "$1" --output json | python3 -c '
import json, sys
lines = [line for line in sys.stdin if line.strip()]
for line in lines[-1:]:
    payload = json.loads(line)["payload"]
    outcome, code = payload["outcome"], payload.get("exit_code")
    metrics = " ".join("%s=%g" % item for item in sorted(payload.get("metrics", {}).items()))
    print("   outcome %s, exit code %s, attempt %s; final metrics: %s" % (outcome, code, payload.get("attempt", 0), metrics))'
}

# wait_finished JOB_ID: until the job has ended for good (at most two minutes): a job.finished whose
# outcome is not one the scheduler requeues (preempted, lost, budget_exceeded...), or job.failed.
wait_finished() {
    for ((i = 0; i < 240; i++)); do
        "$bin/agentctl" events --correlation "$1" --output json 2>/dev/null | python3 -c '
import json, sys
retried = {"preempted", "node_lost", "lost", "interrupted", "stalled", "failed", "budget_exceeded"}
events = [json.loads(line) for line in sys.stdin if line.strip()]
done = any(e["type"] == "job.failed" or (e["type"] == "job.finished" and e["payload"].get("outcome") not in retried) for e in events)
sys.exit(0 if done else 1)' && return
        sleep 0.5
    done
}

# submit_example SPEC: submits an example job spec under a fresh idempotency key (its name and the
# time); sets key and job_id.
submit_example() {
    local spec="$1" name
    name="$(basename "$spec" .yaml)"
    key="$name-$(date +%s)"
    sed "s/^idempotency_key: .*/idempotency_key: $key/" "$spec" >"$logs/$name.yaml"
    "$bin/agentctl" submit "$logs/$name.yaml"
    job_id="$("$bin/agentctl" jobs show "$key" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')"
}

# wait_checkpoint KEY STEP: until the job has checkpointed STEP (at most 30 s).
wait_checkpoint() {
    for ((i = 0; i < 120; i++)); do
        "$bin/agentctl" jobs checkpoints "$1" --output json | grep -q "\"step\":$2[,}]" && return
        sleep 0.25
    done
}

echo "== 5. a job that runs for real: the gridworld Q-learning agent on a cpu-local node, in two curriculum stages"
submit_example examples/agents/gridworld/job.yaml
wait_finished "$job_id"  # after its last stage
"$bin/agentctl" jobs runs "$key"
echo
echo "-- its progress, as the program printed it (agentctl jobs logs $key):"
"$bin/agentctl" jobs logs "$key" | grep '"kind":"progress"' | awk 'NR % 4 == 0' | head -8 || true
echo
echo "-- its checkpoints (agentctl jobs checkpoints $key):"
"$bin/agentctl" jobs checkpoints "$key"
echo
echo "-- how it ended (the job.finished event; agentctl events --type job.finished --correlation $job_id):"
show_finished "$job_id"

echo
echo "== 6. rollback: a paced gridworld job restarted from its first checkpoint while it runs (agentctl jobs rollback)"
submit_example examples/agents/gridworld/rollback-job.yaml
wait_checkpoint "$key" 15000
"$bin/agentctl" jobs rollback "$key" --to 5000 --reason "make run: show a rollback"
wait_finished "$job_id"
"$bin/agentctl" jobs runs "$key"
echo
echo "-- its checkpoints: the first attempt's after step 5000 are discarded, the second attempt's follow"
"$bin/agentctl" jobs checkpoints "$key"
echo
show_finished "$job_id"
uninterrupted="$(mkdir -p "$logs/uninterrupted" && CHECKPOINT_DIR="$logs/uninterrupted" \
    python3 examples/agents/gridworld/train.py --steps 30000 --checkpoint-every 5000 | grep '"kind":"result"' \
    | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().split(" ", 1)[1])["metrics"]["q_checksum"])')"
echo "   the same settings run straight through, here and now: q_checksum=$uninterrupted (resume is exact)"


echo
echo "== 7. the Kubernetes backend: what a placed GPU gang becomes on node agents with AGENTMGR_KUBECONFIG"
echo "   (agentctl jobs manifest: a dry run from the database; docs/kubernetes-backend.md)"
gang="$("$bin/agentctl" jobs list --state scheduled --output json | python3 -c '
import json, sys
jobs = [json.loads(line) for line in sys.stdin if line.strip()]
gpu = [job for job in jobs if job["resources"]["gpus"] > 0]
print(next((job["job_id"] for job in gpu if job["replicas"] > 1), gpu[0]["job_id"] if gpu else ""))')"
if [[ -n "$gang" ]]; then
    "$bin/agentctl" jobs manifest "$gang" --namespace training | head -n 60
    echo "   ... (the whole Job and its Service: agentctl jobs manifest $gang)"
else
    echo "   no GPU job is placed right now"
fi

echo
echo "== 8. preemption: a critical gang needs the cores a batch job holds; the batch job checkpoints, waits, resumes"
submit_example examples/agents/gridworld/batch-job.yaml
batch_key="$key" batch_id="$job_id"
wait_checkpoint "$batch_key" 10000
submit_example examples/agents/gridworld/critical-job.yaml
key="$batch_key"
wait_finished "$batch_id"
echo "-- what happened to the batch job (agentctl events --correlation $batch_id):"
"$bin/agentctl" events --correlation "$batch_id" --output json | python3 -c '
import json, sys
for line in sys.stdin:
    if not line.strip():
        continue
    event = json.loads(line)
    kind, payload = event["type"], event["payload"]
    if kind == "job.preemption_requested":
        print("   %s: preempted by %s job %s (%s), work lost $%s" % (kind, payload["preemptor_class"], payload["preemptor_job_id"][:8], payload["reason"], payload["work_lost"]))
    elif kind in ("job.finished", "job.requeued", "job.scheduled", "job.started"):
        detail = payload.get("outcome") or payload.get("reason") or ", ".join(payload.get("nodes", [])) or payload.get("node", "")
        print("   %s (attempt %s): %s" % (kind, payload.get("attempt", 0), detail))'
"$bin/agentctl" jobs runs "$key"
show_finished "$batch_id"
echo "   (uninterrupted, the same settings give q_checksum=$uninterrupted: it resumed exactly from its SIGTERM checkpoint)"

echo
echo "== 9. a node dies: the node agent running a job is SIGKILLed; after 3 missed heartbeats its node is lost and the job resumes elsewhere"
submit_example examples/agents/gridworld/failover-job.yaml
failover_id="$job_id"
wait_checkpoint "$key" 10000
victim_node="$("$bin/agentctl" jobs runs "$key" --output json | python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin if l.strip()][-1]["node"])')"
for entry in "${started[@]}"; do
    if [[ "$entry" == "node-agent-$victim_node="* ]]; then
        echo "   SIGKILL to the node agent of $victim_node (pid ${entry#*=})"
        kill -KILL "${entry#*=}"
    fi
done
wait_finished "$failover_id"
"$bin/agentctl" events --type node.lost --limit 1
echo "   restarting the node agent of $victim_node: it records the run it lost as lost, and its node recovers"
AGENTMGR_NODE_FLAVOR=cpu-local AGENTMGR_NODE_POOL=local AGENTMGR_NODE_CPU=8 AGENTMGR_NODE_MEMORY_GIB=16 \
    start_node_agents scripts/services.sh "$bin" "$logs" "$next_port" "$victim_node"
for ((i = 0; i < 40; i++)); do
    "$bin/agentctl" health --output json | grep -q "\"health\":\"ok\".*\"node\":\"$victim_node\"" && break
    sleep 0.5
done
"$bin/agentctl" jobs runs "$key"
show_finished "$failover_id"
echo
echo "-- agentctl health: nodes, worker replicas, last heartbeats, open alerts"
"$bin/agentctl" health

echo
echo "== 10. money: the cost accountant meters every run; tenant umbrella spends its monthly budget while its job runs"
# spent_this_month TENANT: metered this month, in dollars.
spent_this_month() {
    "$bin/agentctl" cost budgets --tenant "$1" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["spent_this_month"])'
}
# last_seq: the newest event's number; wait_event TYPE TENANT AFTER: until such an event comes (at most a minute).
last_seq() { "$bin/agentctl" events --limit 1 --output json | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["seq"])'; }
wait_event() {
    for ((i = 0; i < 120; i++)); do
        "$bin/agentctl" events --type "$1" --limit 20 --output json | python3 -c '
import json, sys
tenant, after = sys.argv[1], int(sys.argv[2])
sys.exit(0 if any(json.loads(l)["tenant"] == tenant and json.loads(l)["seq"] > after for l in sys.stdin if l.strip()) else 1)' "$2" "$3" && return
        sleep 0.5
    done
}
spent="$(spent_this_month umbrella)"
"$bin/agentctl" tenants set-budget umbrella --monthly "$(python3 -c "print(round($spent + 5, 2))")" --warn-at 80 --over-budget stop >/dev/null
before="$(last_seq)"
submit_example examples/agents/gridworld/budget-job.yaml
budget_key="$key" budget_id="$job_id"
for ((i = 0; i < 120; i++)); do  # until it has run a few seconds ($0.004 a second)
    python3 -c "import sys; sys.exit(0 if $(spent_this_month umbrella) >= $spent + 0.02 else 1)" && break
    sleep 0.5
done
spent="$(spent_this_month umbrella)"
cut="$(python3 -c "print(round($spent + 0.04, 2))")"
echo "   umbrella has spent \$$(python3 -c "print('%.4f' % $spent)") this month; finance cuts its monthly budget to \$$cut (warn at 50%, policy stop)"
"$bin/agentctl" tenants set-budget umbrella --monthly "$cut" --warn-at 50 --over-budget stop
wait_event budget.exceeded umbrella "$before"
for ((i = 0; i < 60; i++)); do
    "$bin/agentctl" jobs why "$budget_key" --output json 2>/dev/null | grep -q '"reason_code":"budget"' && break
    sleep 0.5
done
echo "-- what happened (agentctl events; budget.* and the job's):"
"$bin/agentctl" events --limit 60 --output json | python3 -c '
import json, sys
after, job = int(sys.argv[1]), sys.argv[2]
for line in sys.stdin:
    if not line.strip():
        continue
    event = json.loads(line)
    kind, payload = event["type"], event["payload"]
    if event["seq"] <= after:
        continue
    if kind.startswith("budget."):
        scopes = payload.get("scopes") or [payload]
        detail = "; ".join("%s spent $%s of $%s" % (s.get("scope", ""), s.get("spent", "?"), s.get("budget", "?")) for s in scopes if "spent" in s)
        print("   %s (tenant %s, policy %s) %s" % (kind, event["tenant"], payload.get("policy", "-"), detail))
    elif event.get("correlation_id") == job and kind in ("job.started", "job.checkpointed", "job.finished", "job.requeued"):
        detail = payload.get("outcome") or payload.get("reason") or ("step %s" % payload["step"] if "step" in payload else payload.get("node", ""))
        print("   %s (attempt %s): %s" % (kind, payload.get("attempt", 0), detail))' "$before" "$budget_id"
"$bin/agentctl" jobs why "$budget_key" || true
echo "-- a new job from umbrella is refused while its budget is spent:"
sed "s/^idempotency_key: .*/idempotency_key: budget-job-$(date +%s)-more/" examples/agents/gridworld/budget-job.yaml >"$logs/budget-job-more.yaml"
"$bin/agentctl" submit "$logs/budget-job-more.yaml" || [[ $? == 3 ]]  # 3: rejected, as intended
echo
"$bin/agentctl" cost budgets
echo "-- finance raises the budget again: budget.restored, and the job resumes from its checkpoint"
"$bin/agentctl" tenants set-budget umbrella --monthly "$(python3 -c "print(round($spent + 5, 2))")" --warn-at 80
wait_finished "$budget_id"
"$bin/agentctl" jobs runs "$budget_key"
show_finished "$budget_id"

echo
echo "== cost per tenant: the cost accountant's ledger (agentctl cost report; --by agent|job, --output csv|json|ndjson)"
"$bin/agentctl" cost report
echo
"$bin/agentctl" cost report --by job --tenant umbrella
echo
"$bin/agentctl" cost budgets
echo
echo "-- utilisation since this run began: allocated vs busy unit-hours per pool (simulated pools have no node agents: never busy)"
"$bin/agentctl" cost utilisation --since "$run_started" | grep -E "^(POOL|----|local|since)"

sleep 2  # let the scheduler's round after the last admission finish
echo
echo "== decisions: admission, then the scheduler (agentctl jobs list)"
"$bin/agentctl" jobs list --limit 20
echo
"$bin/agentctl" nodes list
echo
echo "== why is a job waiting? (agentctl jobs why)"
waiting="$("$bin/agentctl" jobs list --state pending --output json | python3 -c 'import json,sys; print(next((json.loads(l)["job_id"] for l in sys.stdin if l.strip()), ""))')"
if [[ -n "$waiting" ]]; then "$bin/agentctl" jobs why "$waiting"; else echo "no job is waiting"; fi

echo
echo "== metrics: what admission #1 serves to Prometheus (http://127.0.0.1:9101/metrics)"
sleep 5  # the gauges are sampled every 5 s
python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9101/metrics", timeout=5).read().decode())' \
    | grep -E '^agentmgr_(messages_(consumed|applied|dead_lettered)_total|queue_depth|outbox_backlog|handler_seconds_(count|sum))' || true
echo
echo "== metrics: the schedulers' decision loops (one leads; http://127.0.0.1:9102/metrics and :9108; replicas are numbered worker by worker from 9101)"
for port in 9102 9108; do
    python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=5).read().decode())" 2>/dev/null \
        | grep -E '^agentmgr_scheduler_(leader|rounds_total|placements_total|pending_jobs)' | sed "s/^/:$port  /" || true
done

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
  $bin/agentctl cost report --by job --output csv
  $bin/agentctl dead-letters demo-worker
When done: make services-stop
MSG
