#!/usr/bin/env python3
"""Submit one job spec to AgentManager over AMQP with pika, and print the admission decision.

This is the client side of docs/amqp-contract.md in about 200 lines of Python; `agentctl submit`
does the same in Swift.

    eval "$(bash scripts/services.sh env)"      # exports AGENTMGR_AMQP_URL
    python3 examples/submit_with_pika.py examples/jobs/resnet-sweep.yaml
    python3 examples/submit_with_pika.py spec.json --key my-run-42 --timeout 10 --json

Needs pika (`python3 -m pip install pika`); YAML specs also need PyYAML.

Exit status: 0 admitted, 3 rejected, 1 no decision in time or an error, 2 bad arguments.
"""

import argparse
import datetime
import json
import os
import sys
import time
import uuid

import pika

ROUTING_KEY = "job.submit"  # + ".<priority class>": the class's lane
SUBMITTED_AT_HEADER = "x-submitted-at"
# Priority lanes, highest first: one quorum queue each, consumed in this order.
LANES = ["critical", "high", "normal", "low", "batch"]
# The AMQP priority property of each class (informational; the routing key picks the lane).
PRIORITY = {"critical": 4, "high": 3, "normal": 2, "low": 1, "batch": 0}

EXIT_ADMITTED, EXIT_NO_ANSWER, EXIT_REJECTED = 0, 1, 3


class SpecError(Exception):
    pass


def load_spec(path):
    """Returns the request body: a dict, or the raw bytes of a JSON file that does not parse
    (sent as written, so that admission reports what is wrong with it)."""
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", errors="replace").strip()
    if path.endswith(".json") or text.startswith(("{", "[")):
        try:
            spec = json.loads(text)
        except ValueError:
            return raw
    else:
        try:
            import yaml
        except ImportError:
            raise SpecError("reading YAML needs PyYAML (python3 -m pip install pyyaml), or give a JSON file")
        try:
            documents = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as error:
            raise SpecError(f"not valid YAML: {error}")
        spec = documents[0] if len(documents) == 1 else documents
    if isinstance(spec, list):
        raise SpecError(f"holds {len(spec)} specs; this example submits one (agentctl submit takes several)")
    return spec


def json_default(value):
    # YAML turns unquoted dates into date objects; send them as the ISO 8601 text they were.
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot send {value!r} as JSON")


def iso_now():
    """UTC with milliseconds and a Z, the form agentctl uses: 2026-11-24T22:01:05.241Z."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def declare_requests_topology(channel, prefix):
    """Declares what admission consumes, with exactly the worker's arguments, so a request sent
    before any admission worker has started waits in the queue instead of being dropped.
    Idempotent; a different declaration of an existing queue fails with 406 PRECONDITION_FAILED."""
    exchange = f"{prefix}.requests"
    dead_letter_exchange = f"{prefix}.dead-letter"
    queue = f"{prefix}.admission.requests"
    channel.exchange_declare(exchange, exchange_type="direct", durable=True)
    channel.exchange_declare(dead_letter_exchange, exchange_type="topic", durable=True)
    channel.queue_declare(f"{queue}.dead", durable=True)
    channel.queue_bind(f"{queue}.dead", dead_letter_exchange, routing_key=queue)
    for lane in LANES:
        channel.queue_declare(
            f"{queue}.{lane}",
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": dead_letter_exchange,
                "x-dead-letter-routing-key": queue,
            },
        )
        channel.queue_bind(f"{queue}.{lane}", exchange, routing_key=f"{ROUTING_KEY}.{lane}")
    channel.queue_bind(f"{queue}.normal", exchange, routing_key=ROUTING_KEY)  # no lane given
    return exchange


def submit(url, prefix, body, key, priority_class, timeout):
    """Publishes the request and waits for its decision. Returns (reply properties, body bytes),
    or None when nothing arrived within `timeout` seconds."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        exchange = declare_requests_topology(channel, prefix)

        # Our private reply queue: server-named, exclusive, gone when we disconnect.
        reply_queue = channel.queue_declare("", exclusive=True).method.queue
        correlation_id = str(uuid.uuid4())
        answer = []

        def on_reply(ch, method, properties, reply_body):
            ch.basic_ack(method.delivery_tag)
            # Anything else on the queue (an answer to an earlier attempt) is not ours.
            if properties.correlation_id == correlation_id and not answer:
                answer.append((properties, reply_body))

        channel.basic_consume(reply_queue, on_reply)

        channel.confirm_delivery()  # basic_publish now returns only once the broker has the message
        channel.basic_publish(
            exchange,
            f"{ROUTING_KEY}.{priority_class}",  # the class's lane
            body,
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=2,  # persistent
                message_id=key,  # the idempotency key
                correlation_id=correlation_id,
                reply_to=reply_queue,
                priority=PRIORITY[priority_class],
                type="job.submit",
                app_id="submit_with_pika",
                timestamp=int(time.time()),
                headers={SUBMITTED_AT_HEADER: iso_now()},
            ),
            mandatory=True,  # unroutable (no requests queue) raises instead of vanishing
        )

        deadline = time.monotonic() + timeout
        while not answer and time.monotonic() < deadline:
            connection.process_data_events(time_limit=min(0.25, max(0.0, deadline - time.monotonic())))
        return answer[0] if answer else None
    finally:
        if connection.is_open:
            connection.close()


def print_decision(reply):
    duplicate = reply.get("duplicate", False)
    again = f"  (a repeat of the decision made at {reply.get('decided_at')})" if duplicate else ""
    if reply.get("decision") == "admitted":
        print(f"admitted   job {reply.get('job_id')}{again}")
        print(f"  tenant          {reply.get('tenant')}")
        print(f"  priority class  {reply.get('priority_class')}")
        print(f"  projected cost  ${reply.get('projected_cost')}")
        print(f"  key             {reply.get('idempotency_key')}")
        return
    print(f"rejected   key {reply.get('idempotency_key')}{again}")
    reasons = reply.get("reasons") or []
    width = max((len(r.get("code", "")) for r in reasons), default=0)
    for reason in reasons:
        print(f"  {reason.get('code', '?'):<{width}}  {reason.get('message', '')}")


def main():
    parser = argparse.ArgumentParser(
        description="Submit one job spec (JSON or YAML) to AgentManager over AMQP and print the decision.",
        epilog="The broker URL comes from AGENTMGR_AMQP_URL. Exit status: 0 admitted, 3 rejected, "
        "1 no decision in time (is the admission worker running?) or an error.",
    )
    parser.add_argument("spec", help="job spec file, .json or .yaml (one spec)")
    parser.add_argument(
        "--key",
        help="idempotency key (AMQP message_id; also written into the body's idempotency_key). "
        "Default: the spec's idempotency_key, else a new UUID.",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the decision (default 30)")
    parser.add_argument("--json", action="store_true", help="print the reply body as received")
    parser.add_argument(
        "--prefix",
        default=os.environ.get("AGENTMGR_TOPOLOGY_PREFIX") or "agentmgr",
        help="topology prefix of exchange and queue names (default: $AGENTMGR_TOPOLOGY_PREFIX or agentmgr)",
    )
    args = parser.parse_args()
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if args.key is not None and not 1 <= len(args.key) <= 200:
        parser.error("--key must be 1-200 characters")
    url = os.environ.get("AGENTMGR_AMQP_URL")
    if not url:
        parser.error('AGENTMGR_AMQP_URL is not set (for the local services: eval "$(bash scripts/services.sh env)")')

    try:
        spec = load_spec(args.spec)
    except (OSError, SpecError) as error:
        print(f"{args.spec}: {error}", file=sys.stderr)
        return EXIT_NO_ANSWER

    priority_class = "normal"
    if isinstance(spec, dict):
        given = spec.get("idempotency_key")
        key = args.key or (given if isinstance(given, str) and given else None) or str(uuid.uuid4())
        if args.key:
            spec["idempotency_key"] = key  # message_id and idempotency_key must be equal when both are given
        if spec.get("priority_class") in PRIORITY:
            priority_class = spec["priority_class"]
        body = json.dumps(spec, default=json_default).encode("utf-8")
    else:  # not a JSON object: sent as is, and admission answers malformed_request
        key = args.key or str(uuid.uuid4())
        body = spec if isinstance(spec, bytes) else json.dumps(spec, default=json_default).encode("utf-8")

    print(f"submitting {args.spec} with key {key}, waiting up to {args.timeout:g} s...", file=sys.stderr)
    try:
        answer = submit(url, args.prefix, body, key, priority_class, args.timeout)
    except pika.exceptions.AMQPError as error:
        print(f"broker error: {error!r}", file=sys.stderr)
        return EXIT_NO_ANSWER
    if answer is None:
        print(f"no decision within {args.timeout:g} s: is the admission worker running?", file=sys.stderr)
        return EXIT_NO_ANSWER

    properties, reply_body = answer
    if args.json:
        print(reply_body.decode("utf-8"))
    reply = json.loads(reply_body)
    if not args.json:
        print_decision(reply)
    return EXIT_ADMITTED if reply.get("decision") == "admitted" else EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())
