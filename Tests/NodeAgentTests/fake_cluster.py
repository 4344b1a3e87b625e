"""A simulated Kubernetes cluster for the node agent's tests: the API calls the Kubernetes backend
makes (KubernetesClient), over plain HTTP on 127.0.0.1, with Jobs that really run.

    python3 fake_cluster.py TOKEN RECORD_FILE

Prints "PORT <n>" once listening. Every request is appended to RECORD_FILE as one JSON line
(method, path, query (first value of each parameter), body (parsed when JSON)). Requests without
"Authorization: Bearer TOKEN" get 401. Exits when its stdin closes (the test ended) or after 300 s.

What it simulates:

- POST .../jobs stores a Job and starts its pods at once: one per completion index
  (spec.completions, default 1), named <job>-<index>-<5 random>, labelled as the Job controller
  does (batch.kubernetes.io/job-name, job-name, controller-uid, ...), annotated with
  batch.kubernetes.io/job-completion-index, on the node that the template's nodeSelector
  kubernetes.io/hostname names (or the required node affinity's `In` list: its first value, or
  value[index % count] when a pod anti-affinity spreads the pods). Pending for 0.5 s
  (ContainerCreating), then Running; its "program" runs in a thread, in real time; when it ends
  the pod is Succeeded (exit 0) or Failed (exit code), container "main".
- The program comes from the container's env: FAKE_SCRIPT, after Kubernetes' own expansion of
  env values, is a JSON list of steps, {"print": "line"}, {"sleep": seconds} or {"exit": code}
  (no exit step: exit 0; an optional "reason" sets the terminated state's reason, e.g.
  {"exit": 137, "reason": "OOMKilled"}; else Completed for 0, Error otherwise). "print" lines are expanded again, as Kubernetes expands $(NAME):
  with the container's resolved env (values, earlier-entry $(NAME) references, fieldRef to the
  pod's annotations / labels / name / namespace / uid / node), $$ -> $, unknown references kept.
  Instead of FAKE_SCRIPT, AGENTMGR_PARAMETERS may carry the list as "fake_script" (how a node
  agent test passes it: a curriculum stage's parameters).
  Without either: prints "hello from <pod>" and exits 0.
- The Job controller: no retries (any failed pod fails the Job: BackoffLimitExceeded; the
  backend sets backoffLimit 0), noticed 0.5 s after the pod failed (so ranks failing together all
  count as failed); activeDeadlineSeconds (DeadlineExceeded); on failure the active pods are
  deleted (their grace: ~1 s, exit 143, then gone), FailureTarget is set at once and Failed once
  none is active; Complete once every index succeeded; ttlSecondsAfterFinished deletes a
  finished Job. Job status counts omit zeros (active, succeeded, failed), as the API server does.
- DELETE of a Job (DeleteOptions body or query): propagationPolicy Background or Foreground
  deletes its pods with their template's terminationGracePeriodSeconds (a Job's own
  gracePeriodSeconds is not passed on to them, as in Kubernetes); Orphan (the batch/v1 default
  when none is given!) leaves them running. The Job shows a deletionTimestamp and is gone (404)
  0.5 s later (Foreground: once its pods are gone). Its owned Services go with it.
- DELETE of a pod (by name, or by labelSelector on the collection), grace from the body/query
  or else the template's: a running program stops; the container ends 143 (SIGTERM) after
  min(grace, 1 s), or 137 (SIGKILL) at once for grace 0; the pod is gone 0.5 s after it ended.
  A pod deleted while Pending ends 137, reason ContainerStatusUnknown.
- GET .../pods/NAME/log: 400 "container "main" in pod ... is waiting to start: ContainerCreating"
  until the container started; follow=true streams (chunked) what there is, then every new
  byte, and ends when the program has ended; without follow, the log so far.
"""
import copy
import json
import os
import random
import re
import select
import socket
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN, RECORD = sys.argv[1], sys.argv[2]

PENDING_SECONDS = 0.5  # ContainerCreating
REMOVAL_SECONDS = 0.5  # from deleted (and ended) to gone
MAX_STOP_SECONDS = 1.0  # a SIGTERMed program ends at most this long after
FAILURE_REACTION_SECONDS = 0.5  # the Job controller batches pod updates: ranks failing together all count
TICK_SECONDS = 0.02

JOB_NAME = "batch.kubernetes.io/job-name"
INDEX = "batch.kubernetes.io/job-completion-index"
HOSTNAME = "kubernetes.io/hostname"
NAME_CHARACTERS = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet

LOCK = threading.RLock()
CHANGED = threading.Condition(LOCK)  # notified on every change a reader may wait for
JOBS = {}  # (namespace, name) -> Job
PODS = {}  # (namespace, name) -> Pod
SERVICES = {}  # (namespace, name) -> stored object
RECORD_LOCK = threading.Lock()
_version = [1000]
_pod_ip = [10]


def resource_version():
    _version[0] += 1
    return str(_version[0])


def timestamp(at):
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_object(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, body


def not_found(resource, name):
    return status_object(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource.split(".")[0]})


# --- Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion) ---

def expand(text, mapping):
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            following = text[i + 1]
            if following == "$":
                out.append("$")
                i += 2
            elif following == "(":
                close = text.find(")", i + 2)
                if close < 0:  # incomplete reference: kept
                    out.append("$(")
                    i += 2
                else:
                    name = text[i + 2:close]
                    out.append(mapping[name] if name in mapping else f"$({name})")
                    i = close + 1
            else:
                out.append("$" + following)
                i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


class Job:
    def __init__(self, namespace, stored):
        self.namespace = namespace
        self.stored = stored
        self.name = stored["metadata"]["name"]
        self.uid = stored["metadata"]["uid"]
        spec = stored.get("spec") or {}
        self.completions = int(spec.get("completions") or 1)
        self.indexed = spec.get("completionMode") == "Indexed"
        self.deadline = spec.get("activeDeadlineSeconds")
        self.ttl = spec.get("ttlSecondsAfterFinished")
        self.created = time.time()
        self.pods = []  # every pod it made
        self.succeeded = 0
        self.failed = 0
        self.first_failure = None  # when a pod first failed
        self.succeeded_indexes = set()
        self.failure = None  # (reason, message, time): FailureTarget
        self.finished = None  # ("Complete" | "Failed", time)
        self.deletion = None  # time of the DELETE
        self.policy = None
        self.remove_at = None

    def active_pods(self):
        return [pod for pod in self.pods if not pod.removed and pod.ended is None and pod.deletion is None]

    def to_json(self):
        job = copy.deepcopy(self.stored)
        metadata = job["metadata"]
        if self.deletion is not None:
            metadata["deletionTimestamp"] = timestamp(self.deletion)
            metadata["deletionGracePeriodSeconds"] = 0
            if self.policy == "Foreground":
                metadata["finalizers"] = ["foregroundDeletion"]
        live = [pod for pod in self.pods if not pod.removed and pod.ended is None]
        status = {
            "startTime": timestamp(self.created),
            "ready": sum(1 for pod in live if pod.phase == "Running" and pod.deletion is None),
            "terminating": sum(1 for pod in live if pod.deletion is not None),
            "uncountedTerminatedPods": {},
        }
        active = sum(1 for pod in live if pod.deletion is None)
        for key, count in (("active", active), ("succeeded", self.succeeded), ("failed", self.failed)):
            if count:  # omitempty, as the real API server
                status[key] = count
        if self.indexed and self.succeeded_indexes:
            status["completedIndexes"] = ranges(sorted(self.succeeded_indexes))
        conditions = []
        if self.failure is not None:
            reason, message, at = self.failure
            conditions.append(condition("FailureTarget", at, reason, message))
            if self.finished is not None:
                conditions.append(condition("Failed", self.finished[1], reason, message))
        elif self.finished is not None:
            at = self.finished[1]
            conditions.append(condition("SuccessCriteriaMet", at, "CompletionsReached", "Reached expected number of succeeded pods"))
            conditions.append(condition("Complete", at, "CompletionsReached", "Reached expected number of succeeded pods"))
            status["completionTime"] = timestamp(at)
        if conditions:
            status["conditions"] = conditions
        job["status"] = status
        return job


def condition(kind, at, reason, message):
    return {"type": kind, "status": "True", "lastProbeTime": timestamp(at), "lastTransitionTime": timestamp(at),
            "reason": reason, "message": message}


def ranges(indexes):
    parts, start = [], None
    for position, index in enumerate(indexes):
        if start is None:
            start = index
        if position + 1 == len(indexes) or indexes[position + 1] != index + 1:
            parts.append(str(start) if start == index else f"{start}-{index}")
            start = None
    return ",".join(parts)


class Pod:
    def __init__(self, job, index):
        self.job = job
        self.namespace = job.namespace
        self.index = index
        self.name = f"{job.name}-{index}-" + "".join(random.choice(NAME_CHARACTERS) for _ in range(5))
        self.uid = str(uuid.uuid4())
        template = (job.stored.get("spec") or {}).get("template") or {}
        template_metadata = template.get("metadata") or {}
        self.spec = copy.deepcopy(template.get("spec") or {})
        self.node = node_for(self.spec, index)
        self.spec["nodeName"] = self.node
        if job.indexed:
            self.spec["hostname"] = f"{job.name}-{index}"
        self.labels = dict(template_metadata.get("labels") or {})
        self.labels.update({"batch.kubernetes.io/controller-uid": job.uid, "controller-uid": job.uid,
                            JOB_NAME: job.name, "job-name": job.name})
        if job.indexed:
            self.labels[INDEX] = str(index)
        self.annotations = dict(template_metadata.get("annotations") or {})
        self.annotations[INDEX] = str(index)
        self.owned = True
        self.grace = int(self.spec.get("terminationGracePeriodSeconds", 30))
        containers = self.spec.get("containers") or [{}]
        self.container = next((c for c in containers if c.get("name") == "main"), containers[0])
        self.created = time.time()
        self.phase = "Pending"
        self.started = None
        self.ended = None
        self.exit_code = None
        self.reason = None
        self.message = None
        self.log = bytearray()
        self.stop = threading.Event()  # the program was signalled
        self.deletion = None
        self.deletion_grace = None
        self.kill_at = None
        self.kill_code = None
        self.remove_at = None
        self.removed = False
        _pod_ip[0] += 1
        self.ip = f"10.244.{_pod_ip[0] // 250}.{_pod_ip[0] % 250 + 2}"
        self.env = self.resolve_env()

    def field(self, path):
        match = re.fullmatch(r"metadata\.(annotations|labels)\['(.*)'\]", path)
        if match:
            return (self.annotations if match.group(1) == "annotations" else self.labels).get(match.group(2), "")
        return {"metadata.name": self.name, "metadata.namespace": self.namespace, "metadata.uid": self.uid,
                "spec.nodeName": self.node, "spec.serviceAccountName": self.spec.get("serviceAccountName", "default"),
                "status.podIP": self.ip, "status.hostIP": "192.168.0.1"}.get(path, "")

    def resolve_env(self):
        env = {}
        for entry in self.container.get("env") or []:
            name = entry.get("name")
            if name is None:
                continue
            if "value" in entry:
                env[name] = expand(str(entry["value"]), env)
            elif ((entry.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath"):
                env[name] = self.field(entry["valueFrom"]["fieldRef"]["fieldPath"])
            else:
                env[name] = ""
        return env

    def to_json(self):
        metadata = {
            "name": self.name, "generateName": f"{self.job.name}-{self.index}-", "namespace": self.namespace,
            "uid": self.uid, "resourceVersion": resource_version(), "creationTimestamp": timestamp(self.created),
            "labels": dict(self.labels), "annotations": dict(self.annotations),
        }
        if self.owned:
            metadata["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": self.job.name,
                                            "uid": self.job.uid, "controller": True, "blockOwnerDeletion": True}]
        if self.deletion is not None:
            metadata["deletionTimestamp"] = timestamp(self.deletion + self.deletion_grace)
            metadata["deletionGracePeriodSeconds"] = int(round(self.deletion_grace))
        image = self.container.get("image", "")
        container = {"name": self.container.get("name", "main"), "image": image, "imageID": "", "restartCount": 0,
                     "ready": self.phase == "Running", "started": self.phase == "Running"}
        if self.ended is not None:
            terminated = {"exitCode": self.exit_code, "reason": self.reason, "finishedAt": timestamp(self.ended),
                          "startedAt": timestamp(self.started or self.ended), "containerID": f"containerd://{self.uid}"}
            if self.message:
                terminated["message"] = self.message
            container["state"] = {"terminated": terminated}
        elif self.started is not None:
            container["state"] = {"running": {"startedAt": timestamp(self.started)}}
        else:
            container["state"] = {"waiting": {"reason": "ContainerCreating"}}
        status = {"phase": self.phase, "hostIP": "192.168.0.1", "startTime": timestamp(self.created),
                  "qosClass": "Guaranteed", "containerStatuses": [container]}
        if self.started is not None:
            status["podIP"] = self.ip
            status["podIPs"] = [{"ip": self.ip}]
        status["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": timestamp(self.created)},
            {"type": "Ready", "status": "True" if self.phase == "Running" else "False",
             "lastTransitionTime": timestamp(self.started or self.created)},
        ]
        return {"kind": "Pod", "apiVersion": "v1", "metadata": metadata, "spec": copy.deepcopy(self.spec), "status": status}


def node_for(spec, index):
    node = (spec.get("nodeSelector") or {}).get(HOSTNAME)
    if node:
        return node
    affinity = spec.get("affinity") or {}
    terms = (((affinity.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {})
             .get("nodeSelectorTerms") or [])
    spread = any(term.get("topologyKey") == HOSTNAME for term in
                 (affinity.get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or [])
    for term in terms:
        for expression in term.get("matchExpressions") or []:
            values = expression.get("values") or []
            if expression.get("key") == HOSTNAME and expression.get("operator") == "In" and values:
                return values[index % len(values)] if spread else values[0]
    return "fake-node"


# --- the program each pod runs ---

def run_program(pod):
    script = pod.env.get("FAKE_SCRIPT")
    if script is None:  # or the job's parameters: {"fake_script": [...]} (a curriculum stage's)
        try:
            steps = json.loads(pod.env.get("AGENTMGR_PARAMETERS") or "{}").get("fake_script")
            script = None if steps is None else json.dumps(steps)
        except (ValueError, AttributeError):
            script = None
    if script is None:
        steps = [{"print": f"hello from {pod.name}"}]
    else:
        try:
            steps = json.loads(script)
            if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
                raise ValueError("expected a JSON list of objects")
        except ValueError as error:
            append(pod, f"fake_cluster: FAKE_SCRIPT is not a list of steps: {error}\n")
            return end(pod, 2)
    for step in steps:
        if pod.stop.is_set():
            return  # signalled: the kill ends it
        if "print" in step:
            append(pod, expand(str(step["print"]), pod.env) + "\n")
        elif "sleep" in step:
            if pod.stop.wait(float(step["sleep"])):
                return
        elif "exit" in step:
            return end(pod, int(step["exit"]), step.get("reason"))
        else:
            append(pod, f"fake_cluster: unknown FAKE_SCRIPT step {json.dumps(step)}\n")
            return end(pod, 2)
    end(pod, 0)


def append(pod, text):
    with CHANGED:
        if pod.ended is None:
            pod.log += text.encode()
            CHANGED.notify_all()


def end(pod, code, reason=None, message=None):
    """The container ended (once): the pod's phase, the Job's counts."""
    with CHANGED:
        if pod.ended is not None:
            return
        pod.ended = time.time()
        pod.exit_code = code
        pod.phase = "Succeeded" if code == 0 else "Failed"
        pod.reason = reason or ("Completed" if code == 0 else "Error")
        pod.message = message
        pod.stop.set()
        job = pod.job
        if code == 0:
            job.succeeded += 1
            job.succeeded_indexes.add(pod.index)
        else:
            job.failed += 1
            if job.first_failure is None:
                job.first_failure = pod.ended
        if (pod.namespace, job.name) in JOBS and JOBS[(pod.namespace, job.name)] is job:
            sync_job(job, pod.ended)
        CHANGED.notify_all()


def delete_pod(pod, grace):
    """Deletes a pod with `grace` seconds (None: its template's); a shorter grace wins."""
    with CHANGED:
        now = time.time()
        grace = pod.grace if grace is None else max(0, int(grace))
        if pod.deletion is None or now + grace < pod.deletion + pod.deletion_grace:
            if pod.deletion is None:
                pod.deletion = now
            pod.deletion_grace = grace + (now - pod.deletion)
        if pod.ended is None:
            pod.stop.set()
            kill_at = now + min(grace, MAX_STOP_SECONDS)
            if pod.kill_at is None or kill_at < pod.kill_at:
                pod.kill_at = kill_at
                pod.kill_code = 137 if grace == 0 else 143
            if grace == 0:
                kill(pod)
        CHANGED.notify_all()


def kill(pod):
    if pod.started is None:
        end(pod, 137, "ContainerStatusUnknown", "The container was never started: the pod was deleted while it was Pending")
    else:
        end(pod, pod.kill_code)


def delete_job(job, policy):
    with CHANGED:
        job.deletion = time.time()
        job.policy = policy
        live = [pod for pod in job.pods if not pod.removed]
        if policy == "Orphan":
            for pod in live:
                pod.owned = False
        else:
            for pod in live:
                delete_pod(pod, None)
        if policy != "Foreground":
            job.remove_at = job.deletion + REMOVAL_SECONDS
        CHANGED.notify_all()


def fail(job, reason, message, now):
    job.failure = (reason, message, now)
    for pod in job.active_pods():
        delete_pod(pod, None)


def sync_job(job, now):
    """The Job controller's decisions: failed, past its deadline, complete."""
    if job.deletion is not None or job.finished is not None:
        return
    if job.failure is None:
        if job.first_failure is not None and now >= job.first_failure + FAILURE_REACTION_SECONDS:
            fail(job, "BackoffLimitExceeded", "Job has reached the specified backoff limit", now)
        elif job.deadline is not None and now >= job.created + float(job.deadline):
            fail(job, "DeadlineExceeded", "Job was active longer than specified deadline", now)
        elif job.first_failure is None and job.succeeded >= job.completions:
            job.finished = ("Complete", now)
    if job.failure is not None and not any(pod.ended is None for pod in job.pods if not pod.removed):
        job.finished = ("Failed", now)
    CHANGED.notify_all()


def controller():
    while True:
        time.sleep(TICK_SECONDS)
        with CHANGED:
            now = time.time()
            for key, pod in list(PODS.items()):
                if pod.phase == "Pending" and pod.ended is None and pod.deletion is None and now >= pod.created + PENDING_SECONDS:
                    pod.phase = "Running"
                    pod.started = now
                    threading.Thread(target=run_program, args=(pod,), daemon=True).start()
                    CHANGED.notify_all()
                if pod.ended is None and pod.kill_at is not None and now >= pod.kill_at:
                    kill(pod)
                if pod.deletion is not None and pod.ended is not None and pod.remove_at is None:
                    pod.remove_at = max(now, pod.deletion) + REMOVAL_SECONDS
                if pod.remove_at is not None and now >= pod.remove_at:
                    pod.removed = True
                    del PODS[key]
                    CHANGED.notify_all()
            for key, job in list(JOBS.items()):
                sync_job(job, now)
                if job.finished is not None and job.deletion is None and job.ttl is not None \
                        and now >= job.finished[1] + float(job.ttl):
                    delete_job(job, "Background")
                if job.deletion is not None and job.policy == "Foreground" and job.remove_at is None \
                        and all(pod.removed for pod in job.pods):
                    job.remove_at = max(now, job.deletion + REMOVAL_SECONDS)
                if job.remove_at is not None and now >= job.remove_at:
                    del JOBS[key]
                    if job.policy != "Orphan":
                        for service_key, service in list(SERVICES.items()):
                            owners = service["metadata"].get("ownerReferences") or []
                            if service_key[0] == job.namespace and any(o.get("uid") == job.uid for o in owners):
                                del SERVICES[service_key]
                    CHANGED.notify_all()


# --- label selectors ---

def selector_matches(selector, labels):
    if not selector:
        return True
    for requirement in selector.split(","):
        requirement = requirement.strip()
        if not requirement:
            continue
        if "!=" in requirement:
            key, value = requirement.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in requirement:
            key, value = requirement.split("==", 1) if "==" in requirement else requirement.split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif requirement.startswith("!"):
            if requirement[1:].strip() in labels:
                return False
        elif requirement not in labels:
            return False
    return True


# --- HTTP ---

JOBS_PATH = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/]+)(/status)?)?$")
CORE_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/(pods|services)(?:/([^/]+)(/log)?)?$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connections

    def log_message(self, *args):
        pass

    def handle_request(self):
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        with RECORD_LOCK, open(RECORD, "a") as record:
            record.write(json.dumps({"method": self.command, "path": url.path, "query": query, "body": body}) + "\n")
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.reply(*status_object(401, "Unauthorized", "Unauthorized"))
        try:
            path = url.path
            match = JOBS_PATH.match(path)
            if match:
                namespace, name = unquote(match.group(1)), match.group(2) and unquote(match.group(2))
                return self.reply(*self.jobs(namespace, name, query, body))
            match = CORE_PATH.match(path)
            if match:
                namespace, resource = unquote(match.group(1)), match.group(2)
                name, log = match.group(3) and unquote(match.group(3)), match.group(4)
                if resource == "services":
                    return self.reply(*self.services(namespace, name, query, body))
                if log:
                    return self.pod_log(namespace, name, query)
                return self.reply(*self.pods(namespace, name, query, body))
            return self.reply(*status_object(404, "NotFound", "the server could not find the requested resource"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as error:  # a bug here: say so to the test's output, answer 500
            traceback.print_exc()
            return self.reply(*status_object(500, "InternalError", f"fake_cluster: {error!r}"))

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = handle_request

    def reply(self, code, payload, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- objects --

    def create(self, namespace, body, resource, kind, store):
        if not isinstance(body, dict) or body.get("kind") != kind:
            return status_object(400, "BadRequest", f"expected a {kind} object")
        name = (body.get("metadata") or {}).get("name")
        if not name:
            return status_object(422, "Invalid", f"{kind}.{resource} is invalid: metadata.name: Required value")
        if body["metadata"].get("namespace", namespace) != namespace:
            return status_object(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        if (namespace, name) in store:
            return status_object(409, "AlreadyExists", f'{resource} "{name}" already exists',
                                 {"name": name, "group": "batch" if kind == "Job" else "", "kind": resource.split(".")[0]})
        stored = copy.deepcopy(body)
        metadata = stored["metadata"]
        metadata.update({"namespace": namespace, "uid": str(uuid.uuid4()), "resourceVersion": resource_version(),
                         "generation": 1, "creationTimestamp": timestamp(time.time())})
        return None, stored

    def jobs(self, namespace, name, query, body):
        with CHANGED:
            if name is None:
                if self.command == "POST":
                    error, stored = self.create(namespace, body, "jobs.batch", "Job", JOBS)
                    if error:
                        return error, stored
                    spec = stored.setdefault("spec", {})
                    spec.setdefault("completions", 1)
                    spec.setdefault("parallelism", 1)
                    spec.setdefault("backoffLimit", 6)
                    spec.setdefault("completionMode", "NonIndexed")
                    spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": stored["metadata"]["uid"]}}
                    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
                    labels.update({"batch.kubernetes.io/controller-uid": stored["metadata"]["uid"],
                                   "controller-uid": stored["metadata"]["uid"], JOB_NAME: stored["metadata"]["name"],
                                   "job-name": stored["metadata"]["name"]})
                    job = Job(namespace, stored)
                    JOBS[(namespace, job.name)] = job
                    for index in range(job.completions):
                        pod = Pod(job, index)
                        job.pods.append(pod)
                        PODS[(namespace, pod.name)] = pod
                    CHANGED.notify_all()
                    return 201, job.to_json()
                if self.command == "GET":
                    items = [job.to_json() for (ns, _), job in JOBS.items() if ns == namespace
                             and selector_matches(query.get("labelSelector"), job.stored["metadata"].get("labels") or {})]
                    return 200, {"kind": "JobList", "apiVersion": "batch/v1", "metadata": {"resourceVersion": resource_version()},
                                 "items": items}
                return status_object(405, "MethodNotAllowed", f"{self.command} is not supported on jobs here")
            job = JOBS.get((namespace, name))
            if job is None:
                return not_found("jobs.batch", name)
            if self.command == "GET":
                return 200, job.to_json()
            if self.command == "DELETE":
                options = body if isinstance(body, dict) else {}
                policy = options.get("propagationPolicy") or query.get("propagationPolicy") or "Orphan"
                if options.get("orphanDependents") is True or query.get("orphanDependents") == "true":
                    policy = "Orphan"
                if job.deletion is None:
                    delete_job(job, policy)
                return 200, job.to_json()
            return status_object(405, "MethodNotAllowed", f"{self.command} is not supported on a job here")

    def services(self, namespace, name, query, body):
        with CHANGED:
            if name is None:
                if self.command == "POST":
                    error, stored = self.create(namespace, body, "services", "Service", SERVICES)
                    if error:
                        return error, stored
                    SERVICES[(namespace, stored["metadata"]["name"])] = stored
                    return 201, stored
                if self.command == "GET":
                    items = [s for (ns, _), s in SERVICES.items() if ns == namespace]
                    return 200, {"kind": "ServiceList", "apiVersion": "v1", "metadata": {}, "items": items}
                return status_object(405, "MethodNotAllowed", f"{self.command} is not supported on services here")
            service = SERVICES.get((namespace, name))
            if service is None:
                return not_found("services", name)
            if self.command == "GET":
                return 200, service
            if self.command == "DELETE":
                del SERVICES[(namespace, name)]
                return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": name, "kind": "services", "uid": service["metadata"]["uid"]}}
            return status_object(405, "MethodNotAllowed", f"{self.command} is not supported on a service here")

    def pods(self, namespace, name, query, body):
        options = body if isinstance(body, dict) else {}
        grace = options.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
        with CHANGED:
            if name is None:
                matching = [pod for (ns, _), pod in PODS.items()
                            if ns == namespace and selector_matches(query.get("labelSelector"), pod.labels)]
                if self.command == "DELETE":  # deletecollection
                    for pod in matching:
                        delete_pod(pod, grace)
                elif self.command != "GET":
                    return status_object(405, "MethodNotAllowed", f"{self.command} is not supported on pods here")
                return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": resource_version()},
                             "items": [pod.to_json() for pod in matching]}
            pod = PODS.get((namespace, name))
            if pod is None:
                return not_found("pods", name)
            if self.command == "GET":
                return 200, pod.to_json()
            if self.command == "DELETE":
                delete_pod(pod, grace)
                return 200, pod.to_json()
            return status_object(405, "MethodNotAllowed", f"{self.command} is not supported on a pod here")

    # -- logs --

    def pod_log(self, namespace, name, query):
        with CHANGED:
            pod = PODS.get((namespace, name))
            if pod is None:
                return self.reply(*not_found("pods", name))
            container = query.get("container")
            if container is not None and container != pod.container.get("name", "main"):
                return self.reply(*status_object(400, "BadRequest", f"container {container} is not valid for pod {name}"))
            if pod.started is None:
                return self.reply(*status_object(
                    400, "BadRequest", f'container "main" in pod "{name}" is waiting to start: ContainerCreating'))
            if query.get("follow") != "true":
                text = bytes(pod.log)
        if query.get("follow") != "true":
            return self.reply(200, text, "text/plain")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        while True:
            with CHANGED:
                data, done = bytes(pod.log[sent:]), pod.ended is not None
                if not data and not done:
                    CHANGED.wait(0.5)
                    data, done = bytes(pod.log[sent:]), pod.ended is not None
            if data:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                sent += len(data)
            elif done:
                break
            elif self.client_gone():
                self.close_connection = True
                return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def client_gone(self):
        """The client closed the connection (a stopped stream): readable, and nothing to read."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
threading.Thread(target=controller, daemon=True).start()
threading.Timer(300, lambda: os._exit(0)).start()
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
