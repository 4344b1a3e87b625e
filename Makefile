# AgentManager developer tasks.
#
# Local services (private RabbitMQ + PostgreSQL under .data/):
#   eval "$(make -s services)"   start them and export AGENTMGR_AMQP_URL / AGENTMGR_DATABASE_URL
#   make services-status
#   make services-stop
# `services` must write nothing but the export lines to stdout: keep its recipe silent (@) and
# call make with -s (which also suppresses "Entering directory" when using -C).

SHELL := /bin/bash

SERVICES := scripts/services.sh

.PHONY: services services-stop services-status

services:
	@$(SERVICES) start

services-stop:
	@$(SERVICES) stop

services-status:
	@$(SERVICES) status
