#!/usr/bin/env bash
# Runs examples/submit_with_pika.py against the running local services: submits
# examples/jobs/resnet-sweep.yaml under a fresh idempotency key, then the same key again, which
# must come back as a repeat of the first decision (duplicate: true).
#
#   eval "$(bash scripts/services.sh env)"     # or: eval "$(make -s services)"
#   .build/debug/admission &                   # an admission worker must be running
#   bash scripts/pika-example-check.sh
#
# Installs pika with pip if it is missing. Environment: AGENTMGR_AMQP_URL (taken from
# `scripts/services.sh env` when unset), AGENTMGR_TOPOLOGY_PREFIX (default agentmgr),
# PIKA_CHECK_TIMEOUT (seconds to wait for each decision, default 30).
# Exit status: 0 admitted, 3 rejected (the round trip worked; see the reasons), 1 otherwise.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO"
PYTHON="${PYTHON:-python3}"
SPEC=examples/jobs/resnet-sweep.yaml
TIMEOUT="${PIKA_CHECK_TIMEOUT:-30}"

say() { printf '[pika-check] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

if [[ -z "${AGENTMGR_AMQP_URL:-}" ]]; then
    eval "$(bash scripts/services.sh env)"
    [[ -n "${AGENTMGR_AMQP_URL:-}" ]] || die 'AGENTMGR_AMQP_URL is not set; run: eval "$(bash scripts/services.sh env)"'
fi

if ! "$PYTHON" -c 'import pika' 2>/dev/null; then
    say "installing pika (python3 -m pip install --quiet pika)"
    "$PYTHON" -m pip install --quiet pika ||
        die "could not install pika with pip; install it another way (a virtualenv, or apt-get install python3-pika)"
fi
"$PYTHON" -c 'import yaml' 2>/dev/null || die "PyYAML is needed to read $SPEC (python3 -m pip install pyyaml)"
say "pika $("$PYTHON" -c 'import pika; print(pika.__version__)')"

KEY="pika-check-$(date -u +%Y%m%dT%H%M%SZ)-$RANDOM"

say "1. submitting $SPEC with the fresh key $KEY"
status=0
"$PYTHON" examples/submit_with_pika.py "$SPEC" --key "$KEY" --timeout "$TIMEOUT" || status=$?
case "$status" in
    0) say "-> admitted (exit 0)" ;;
    3) say "-> rejected (exit 3): the round trip works; the reasons above say why" ;;
    *) die "no decision (exit $status): is an admission worker running with this broker and prefix?" ;;
esac

say "2. submitting it again with the same key: the first decision must come back with duplicate: true"
again_status=0
reply="$("$PYTHON" examples/submit_with_pika.py "$SPEC" --key "$KEY" --timeout "$TIMEOUT" --json)" || again_status=$?
printf '%s\n' "$reply"
[[ "$again_status" == "$status" ]] || die "the repeat exited $again_status, the first submission $status"
"$PYTHON" -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1]).get("duplicate") is True else 1)' "$reply" ||
    die "the repeat was not marked duplicate: true"
say "-> same decision, duplicate: true"
exit "$status"
