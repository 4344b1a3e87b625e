"""A stand-in for the Kubernetes API server, for KubernetesClientTests: plain HTTP on 127.0.0.1,
just the calls the backend makes, with canned pods and logs.

    python3 fake_apiserver.py TOKEN RECORD_FILE [SERVER_CERT SERVER_KEY CLIENT_CA]

With the three PEM files it serves HTTPS and requires a client certificate signed by CLIENT_CA.
Prints "PORT <n>" once listening. Every request is appended to RECORD_FILE as one JSON line
(method, path, query, Authorization and Content-Type headers, body). Requests without
"Authorization: Bearer TOKEN" get 401. Exits when its stdin closes (the test ended) or after
120 s, whichever comes first.
"""
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN, RECORD = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()
OBJECTS = {  # path of the object -> object
    "/apis/batch/v1/namespaces/training/jobs/am-deleting": {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "am-deleting", "uid": "u-1", "deletionTimestamp": "2026-11-24T10:00:00Z"}},
}

# Two pods of job "am-gang", listed out of order: rank 1 was killed (137), rank 0 runs.
PODS = [
    {"metadata": {"name": "am-gang-1-x7", "creationTimestamp": "2026-11-24T10:00:01Z",
                  "annotations": {"batch.kubernetes.io/job-completion-index": "1"}},
     "spec": {"nodeName": "node-b"},
     "status": {"phase": "Failed", "containerStatuses": [
         {"name": "main", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}},
    {"metadata": {"name": "am-gang-0-q2", "creationTimestamp": "2026-11-24T10:00:00Z",
                  "annotations": {"batch.kubernetes.io/job-completion-index": "0"}},
     "spec": {"nodeName": "node-a"},
     "status": {"phase": "Running", "containerStatuses": [
         {"name": "main", "state": {"running": {"startedAt": "2026-11-24T10:00:05Z"}}}]}},
    {"metadata": {"name": "am-other-0-zz", "annotations": {}}, "spec": {}, "status": {"phase": "Pending"}},
]
POD_LABELS = {"am-gang-1-x7": "am-gang", "am-gang-0-q2": "am-gang", "am-other-0-zz": "am-other"}


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                  "message": message, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection reuse is exercised

    def log_message(self, *args):
        pass

    def handle_request(self):
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with LOCK, open(RECORD, "a") as record:
            record.write(json.dumps({
                "method": self.command, "path": url.path, "query": query, "body": body,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type")}) + "\n")
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.reply(*status(401, "Unauthorized", "Unauthorized"))
        parts = url.path.strip("/").split("/")
        if url.path.endswith("/log"):
            return self.stream_log(parts[-2])
        return self.reply(*self.route(url.path, parts, query, body))

    do_GET = do_POST = do_DELETE = handle_request

    def route(self, path, parts, query, body):
        if "/namespaces/forbidden/" in path:
            return status(403, "Forbidden", 'jobs.batch is forbidden: User "system:serviceaccount:agentmgr:node-agent" '
                                            'cannot create resource "jobs" in API group "batch" in the namespace "forbidden"')
        if self.command == "GET" and path.endswith("/pods"):
            job = query.get("labelSelector", "").split("=")[-1]
            return 200, {"kind": "PodList", "apiVersion": "v1",
                         "items": [pod for pod in PODS if POD_LABELS[pod["metadata"]["name"]] == job]}
        if self.command == "POST":
            name = body["metadata"]["name"]
            key = f"{path}/{name}"
            with LOCK:
                if key in OBJECTS:
                    return status(409, "AlreadyExists", f'{parts[-1]} "{name}" already exists')
                stored = json.loads(json.dumps(body))
                stored["metadata"]["uid"] = str(uuid.uuid4())
                stored["metadata"]["creationTimestamp"] = "2026-11-24T10:00:00Z"
                OBJECTS[key] = stored
            return 201, stored
        if self.command == "GET":
            with LOCK:
                found = OBJECTS.get(path)
            if found is None:
                return status(404, "NotFound", f'{parts[-2]} "{parts[-1]}" not found')
            if parts[-2] == "jobs":
                found = dict(found, status={
                    "active": 1, "ready": 1, "failed": 1, "startTime": "2026-11-24T10:00:00Z",
                    "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                    "message": "Job has reached the specified backoff limit"}]})
            return 200, found
        if self.command == "DELETE":
            if parts[-2] == "pods":
                return 200, {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": parts[-1]}}
            with LOCK:
                found = OBJECTS.pop(path, None)
            if found is None:
                return status(404, "NotFound", f'{parts[-2]} "{parts[-1]}" not found')
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        return status(405, "MethodNotAllowed", "not in this fake")

    def reply(self, code, payload):
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream_log(self, pod):
        if pod == "waiting":
            return self.reply(*status(400, "BadRequest",
                                      'container "main" in pod "waiting" is waiting to start: ContainerCreating'))
        # A followed log: no length, the body ends when the connection closes.
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            if pod == "finite":
                for line in range(1, 4):
                    self.wfile.write(f"line {line}\n".encode())
                    self.wfile.flush()
                    time.sleep(0.05)
            else:  # "endless": until the client goes away (at most 60 s)
                for tick in range(600):
                    self.wfile.write(f"tick {tick}\n".encode())
                    self.wfile.flush()
                    time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass


def exit_when_stdin_closes():
    sys.stdin.read()
    os._exit(0)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if len(sys.argv) == 6:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    context.load_verify_locations(sys.argv[5])
    context.verify_mode = ssl.CERT_REQUIRED
    server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
threading.Timer(120, lambda: os._exit(0)).start()
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
