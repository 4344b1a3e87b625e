#!/usr/bin/env bash
# `make test`: install what is missing, start the private RabbitMQ and PostgreSQL, build, run every
# test against them, and stop the services again if this script started them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

services_were_running=0
status="$(scripts/services.sh status 2>/dev/null || true)"
if [[ "$status" == *"rabbitmq: running"* && "$status" == *"postgres: running"* ]]; then
    services_were_running=1  # a developer's services: leave them up afterwards
fi
eval "$(scripts/services.sh start)"
export AGENTMGR_AMQP_URL AGENTMGR_DATABASE_URL
stop_services() {
    if ((services_were_running == 0)); then
        echo "== stopping the services this run started" >&2
        scripts/services.sh stop >&2 || true
    fi
}
trap stop_services EXIT

echo "== building (debug) the executables the tests start" >&2
swift build
export AGENTMGR_BIN_DIR="$(swift build --show-bin-path)"

# The Kubernetes backend's manifests are checked against the Kubernetes API schema with
# kubernetes-validate (PyPI), kept in .data/pylib; KubernetesBackendTests fail without it.
echo "== schema validator for the Kubernetes backend (kubernetes-validate in .data/pylib)" >&2
if ! PYTHONPATH=.data/pylib python3 -c 'import kubernetes_validate' 2>/dev/null; then
    python3 -m pip install --quiet --target .data/pylib kubernetes-validate
fi
export AGENTMGR_K8S_VALIDATOR_PYTHONPATH="$PWD/.data/pylib"

echo "== tests (everything except the broker restart)" >&2
swift test --skip BrokerRestartTests
# This suite stops and starts the shared broker, so it runs alone.
echo "== tests that restart the broker" >&2
swift test --filter BrokerRestartTests
# The example training program (Python, standard library): checkpoints, exact resume, the
# progress protocol (docs/progress-protocol.md) the node agent reads.
echo "== example agent: checkpoint and exact resume (examples/agents)" >&2
python3 examples/agents/gridworld/test_resume.py
