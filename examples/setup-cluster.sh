#!/usr/bin/env bash
# A small simulated cluster for `make run` (the full 1,897-machine inventory is
# `agentctl nodes import-cluster`). Safe to run again: pools that exist are left as they are.
set -euo pipefail
agentctl="${AGENTCTL:-agentctl}"
existing="$("$agentctl" nodes list --output json 2>/dev/null || true)"

pool() {  # name flavor count gpus cpu memory zones
    grep -q "\"pool\":\"$1\"" <<<"$existing" && return
    "$agentctl" nodes add --pool "$1" --flavor "$2" --count "$3" --gpus "$4" --cpu "$5" --memory-gib "$6" --zones "$7"
}

pool v100    gpu-v100    4 8 96 384 2
pool v100m32 gpu-v100m32 4 8 96 384 2
pool t4      gpu-t4      4 2 96 512 1
pool cpu     cpu         2 0 96 512 1
# The pools above are simulated capacity only: nothing runs there. make run's two cpu-local nodes
# (pool local) are registered by their node agents when they start (AGENTMGR_NODE_FLAVOR...).
