#!/usr/bin/env bash
# The sample registry `make run` uses: two tenants in one cohort, their quotas and budgets, and the
# agents the specs in examples/jobs/ name. Safe to run again: existing tenants and versions are kept.
# Needs AGENTMGR_AMQP_URL / AGENTMGR_DATABASE_URL (eval "$(make -s services)") and agentctl on PATH
# or in AGENTCTL.
set -euo pipefail
agentctl="${AGENTCTL:-agentctl}"

tenant() {  # name, then create options
    local name="$1"; shift
    "$agentctl" tenants show "$name" >/dev/null 2>&1 || "$agentctl" tenants create "$name" "$@"
}
version() {  # tenant, name@version, then register options
    local tenant="$1" agent="$2"; shift 2
    if "$agentctl" agents versions "${agent%@*}" --tenant "$tenant" --output json 2>/dev/null | grep -q "\"version\":\"${agent#*@}\""; then
        return
    fi
    "$agentctl" agents register "$agent" --tenant "$tenant" "$@"
}

tenant acme --weight 2 --cohort research --monthly-budget 20000 --total-budget 200000
"$agentctl" tenants set-quota acme --flavor gpu-v100 --nominal 32 --borrowing-limit 16
"$agentctl" tenants set-quota acme --flavor gpu-v100m32 --nominal 64
"$agentctl" tenants set-quota acme --flavor gpu-t4 --nominal 8
"$agentctl" tenants set-quota acme --flavor cpu-local --nominal 16

tenant globex --weight 1 --cohort research --monthly-budget 500
# A lab with a small budget: make run spends it while its job runs (docs/cost.md).
tenant umbrella --weight 1 --monthly-budget 5
"$agentctl" tenants set-quota umbrella --flavor cpu-local --nominal 8
"$agentctl" tenants set-quota globex --flavor gpu-v100 --nominal 16
"$agentctl" tenants set-quota globex --flavor cpu --nominal 192

version acme resnet-trainer@1.2.0 --image registry.example/acme/resnet:1.2.0 --framework pytorch \
    --flavor gpu-v100 --gpus 1 --cpu 12 --memory-gib 48 --checkpoints --description "ResNet-50 image classifier"
version acme llm-pretrainer@0.9.1 --image registry.example/acme/llm:0.9.1 --framework jax \
    --flavor gpu-v100m32 --gpus 8 --cpu 64 --memory-gib 320 --checkpoints --description "1B-parameter LM pretraining"
version acme eval-harness@2.1.0 --image registry.example/acme/eval:2.1.0 --framework pytorch \
    --flavor gpu-t4 --gpus 1 --cpu 8 --memory-gib 32 --description "Nightly evaluation suite"
version globex gridworld-agent@0.3.0 --command "python3 examples/gridworld/train.py" --framework custom \
    --flavor cpu --cpu 4 --memory-gib 8 --checkpoints --description "Q-learning on a gridworld"
version globex vision-sweep@1.0.0 --image registry.example/globex/vision:1.0.0 --framework pytorch \
    --flavor gpu-v100 --gpus 8 --cpu 64 --memory-gib 256 --checkpoints --description "Vision hyper-parameter sweep"
# A real program: tabular Q-learning on a gridworld (examples/agents/gridworld), run by the node
# agents of the cpu-local nodes. Versions are immutable, so the command names this checkout.
repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version acme gridworld-trainer@1.0.0 --command "python3 $repository/examples/agents/gridworld/train.py --steps 30000 --checkpoint-every 5000" \
    --framework custom --flavor cpu-local --cpu 2 --memory-gib 1 --checkpoints --description "Q-learning on a gridworld (runs for real)"
version acme gridworld-trainer@1.1.0 --command "python3 $repository/examples/agents/gridworld/train.py --checkpoint-every 5000" \
    --framework custom --flavor cpu-local --cpu 2 --memory-gib 1 --checkpoints \
    --description "Q-learning on a gridworld; how long and how greedily each curriculum stage decides"
version acme gridworld-trainer@1.2.0 --command "python3 $repository/examples/agents/gridworld/train.py --steps 30000 --checkpoint-every 5000 --report-delay 0.1" \
    --framework custom --flavor cpu-local --cpu 2 --memory-gib 1 --checkpoints \
    --description "Q-learning on a gridworld, paced (about 6 s) so that make run can roll it back mid-run"
version umbrella gridworld-trainer@1.0.0 --command "python3 $repository/examples/agents/gridworld/train.py --steps 60000 --checkpoint-every 5000 --report-delay 0.25" \
    --framework custom --flavor cpu-local --cpu 4 --memory-gib 1 --checkpoints \
    --description "Q-learning on a gridworld, paced (about 30 s): make run spends its tenant's budget with it"
