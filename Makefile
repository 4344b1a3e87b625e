# AgentManager developer tasks. A newcomer needs two:
#   make run    services + workers + the sample workload + a summary (services stay up afterwards)
#   make test   services + every test against them, then stops what it started
#
# Local services (private RabbitMQ + PostgreSQL under .data/):
#   eval "$(make -s services)"   start them and export AGENTMGR_AMQP_URL / AGENTMGR_DATABASE_URL
#   make services-status
#   make services-stop
# `services` must write nothing but the export lines to stdout: keep its recipe silent (@) and
# call make with -s (which also suppresses "Entering directory" when using -C).

SHELL := /bin/bash

SERVICES := scripts/services.sh

.PHONY: run test build bench bench-scheduler services services-stop services-status clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

build:
	@swift build

# The end-to-end pipeline: services, release workers, thousands of simulated nodes, a fixed-rate
# and a flat-out run; bench/results.json and a table (about 3 minutes on a fresh clone; see docs/benchmarks.md).
bench:
	@scripts/bench.sh

# The scheduling decision's cost per placement and memory per pending job (release build; a few
# minutes). Figures go to docs/benchmarks.md.
bench-scheduler:
	@swift run -c release scheduler-bench

services:
	@$(SERVICES) start

services-stop:
	@$(SERVICES) stop

services-status:
	@$(SERVICES) status

clean:
	@rm -rf .build
