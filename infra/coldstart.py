"""Cold start, latency, CPU and memory of the three Lambda binaries over a loopback Lambda
Runtime API, against moto (issue 15, item 2).

usage: .venv/bin/python infra/coldstart.py [--runs 5] [--warm 200] [--json OUT] [--only BIN]
       [--bin-dir DIR] [--perf] [--item-sizes]
       (after `cargo build --release -p proxy -p webhook-receiver -p worker`)

What it does, all on 127.0.0.1 and bounded in time:
- starts moto (infra/moto_serial.py) on a free port, seeds the tables and tenants
  (`cargo run -p devserver -- seed`) and creates the webhook queue;
- serves the Runtime API (GET /2018-06-01/runtime/invocation/next, POST
  .../invocation/{id}/response and .../error, POST .../init/error) from a stdlib server;
- for each binary, `--runs` times: spawns target/release/<bin> with AWS_LAMBDA_RUNTIME_API
  pointing at that server and measures
    init   = spawn -> the first GET /invocation/next,
    first  = first event handed out -> its response received;
  in the first run it then hands out `--warm` invocations per event kind and measures
    warm p50/p99 latency (handed out -> response received),
    CPU per warm invocation = (utime+stime delta in /proc/<pid>/stat) / invocations
      (cross-checked with the sum of /proc/<pid>/task/*/schedstat, ns resolution),
    peak RSS = VmHWM from /proc/<pid>/status before the process is stopped.
Every child runs in its own process group and is killed on exit, error or timeout.
"""

import argparse
import base64
import copy
import hashlib
import hmac
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEADLINE_S = 600  # the whole run stops by itself after this
INVOKE_TIMEOUT_S = 30
STRIPE_SECRET = b"whsec_demo_stripe_endpoint_tenant_a"
PREFIX = "/2018-06-01/runtime"

BINARIES = ("proxy", "webhook-receiver", "worker")
# tools/floor: the proxy's round trips and nothing else, the least a warm create can cost here
FLOOR = "floor"
CHILDREN = []  # Popen objects, each leader of its own process group


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def kill_all():
    for p in CHILDREN:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def spawn(argv, env, log):
    p = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    CHILDREN.append(p)
    return p


# --- the Runtime API ------------------------------------------------------------------------

class Runtime:
    """One invocation at a time: `invoke(event)` queues it, the binary's GET next takes it."""

    def __init__(self):
        self.events = []  # (rid, payload, fn), guarded by cond
        self.lock = threading.Lock()
        self.cond = threading.Condition()
        self.gen = 0  # bumped per process: a killed process's waiting GET must not take events
        self.first_next = None  # perf_counter of the first GET next since reset()
        self.first_next_evt = threading.Event()
        self.pending = {}  # request id -> dict(handed=..., done=Event, status=, body=)
        self.init_error = None

    def reset(self):
        with self.lock:
            self.first_next = None
            self.first_next_evt.clear()
            self.init_error = None
        with self.cond:
            self.gen += 1
            self.events.clear()
            self.cond.notify_all()

    def invoke(self, event, fn):
        rid = str(uuid.uuid4())
        slot = {"done": threading.Event(), "handed": None, "received": None, "kind": None, "body": None}
        with self.lock:
            self.pending[rid] = slot
        with self.cond:
            self.events.append((rid, json.dumps(event).encode(), fn))
            self.cond.notify_all()
        if not slot["done"].wait(INVOKE_TIMEOUT_S):
            raise RuntimeError(f"no answer to invocation {rid} within {INVOKE_TIMEOUT_S}s")
        with self.lock:
            del self.pending[rid]
        if slot["kind"] != "response":
            raise RuntimeError(f"invocation {rid} ended with {slot['kind']}: {slot['body'][:300]!r}")
        return (slot["received"] - slot["handed"]) * 1000.0, json.loads(slot["body"] or b"null")


def make_handler(rt):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # status line, headers and body leave in one write with TCP_NODELAY, as the real Runtime
        # API answers; two small writes met the client's delayed ACK (a 40 ms stall per answer)
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, *a):
            pass

        def _body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _reply(self, code, body=b"", headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_GET(self):
            if self.path != PREFIX + "/invocation/next":
                return self._reply(404)
            now = time.perf_counter()
            with rt.lock:
                if rt.first_next is None:
                    rt.first_next = now
                    rt.first_next_evt.set()
            with rt.cond:
                gen = rt.gen
                while True:
                    # a killed process's GET still blocked here must not take the next
                    # process's event: check the generation before taking one
                    if STOP.is_set() or rt.gen != gen:
                        self.close_connection = True
                        return
                    if rt.events:
                        break
                    rt.cond.wait(timeout=1)
                rid, payload, fn = rt.events.pop(0)
            headers = [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", rid),
                ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + INVOKE_TIMEOUT_S * 1000)),
                ("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:us-east-1:123456789012:function:{fn}"),
                ("Lambda-Runtime-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"),
            ]
            with rt.lock:
                slot = rt.pending.get(rid)
            slot["handed"] = time.perf_counter()
            self._reply(200, payload, headers)

        def do_POST(self):
            body = self._body()
            now = time.perf_counter()
            parts = self.path[len(PREFIX):].strip("/").split("/")
            if parts == ["init", "error"]:
                rt.init_error = body
                rt.first_next_evt.set()
                return self._reply(202, b'{"status":"OK"}')
            if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                with rt.lock:
                    slot = rt.pending.get(parts[1])
                if slot is None:
                    return self._reply(400)
                self._reply(202, b'{"status":"OK"}')
                slot.update(received=now, kind=parts[2], body=body)
                slot["done"].set()
                return
            self._reply(404)

    return H


STOP = threading.Event()


# --- /proc ----------------------------------------------------------------------------------

def cpu_split(pid):
    """(utime, stime) in clock ticks: user space (the binary's own code and libraries) and kernel
    (on loopback the kernel side includes the receiving end's TCP processing)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime (fields 14, 15)


def sched_ns(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


# --- events ---------------------------------------------------------------------------------

def load(name):
    with open(os.path.join(ROOT, "events", name)) as f:
        return json.load(f)


def create_event(key):
    e = load("create-payment.json")
    e["headers"]["idempotency-key"] = key
    return e


def stripe_event():
    e = load("webhook-stripe.json")
    body = json.loads(e["body"])
    body["id"] = "evt_cold_" + uuid.uuid4().hex
    e["body"] = json.dumps(body)
    t = int(time.time())
    sig = hmac.new(STRIPE_SECRET, f"{t}.{e['body']}".encode(), hashlib.sha256).hexdigest()
    e["headers"]["stripe-signature"] = f"t={t},v1={sig}"
    return e


def drain_batches(endpoint, queue_url, n_batches, per_batch=3):
    """SQS batches shaped like events/sqs-batch.json from the messages the receiver queued
    (as infra/invoke_events.sh builds sqs-live.json), plus the shipped poisoned record."""
    import boto3
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    template = load("sqs-batch.json")
    shape = template["Records"][0]
    msgs = []
    empty = 0
    while len(msgs) < n_batches * per_batch and empty < 3:
        out = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                  AttributeNames=["ApproximateReceiveCount"], VisibilityTimeout=900)
        got = out.get("Messages", [])
        empty = 0 if got else empty + 1
        msgs += got
    if len(msgs) < per_batch:
        raise RuntimeError(f"only {len(msgs)} queued webhooks to build worker batches from")
    batches = []
    for i in range(n_batches):
        chunk = [msgs[(i * per_batch + j) % len(msgs)] for j in range(per_batch)]
        records = []
        for m in chunk:
            r = dict(shape, messageId=m["MessageId"], receiptHandle=m["ReceiptHandle"], body=m["Body"])
            r["attributes"] = dict(shape["attributes"], ApproximateReceiveCount=m["Attributes"]["ApproximateReceiveCount"])
            records.append(r)
        records.append(copy.deepcopy(template["Records"][1]))
        batches.append({"Records": records})
    return batches, len(msgs)


# --- item sizes (the cost model's write units) ---------------------------------------------

def attr_size(v):
    """DynamoDB's documented item size rules, for one attribute value in the low-level JSON."""
    (t, x), = v.items()
    if t == "S":
        return len(x.encode())
    if t == "N":
        digits = len(x.lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if t == "B":
        return len(base64.b64decode(x))
    if t in ("BOOL", "NULL"):
        return 1
    if t == "M":
        return 3 + sum(len(k.encode()) + attr_size(e) + 1 for k, e in x.items())
    if t == "L":
        return 3 + sum(attr_size(e) + 1 for e in x)
    if t in ("SS", "NS", "BS"):
        return sum(attr_size({t[0]: e}) for e in x)
    raise ValueError(t)


def item_sizes(endpoint, env):
    """Per table of the run: items, mean and max size, and write units per full-item write."""
    import boto3
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    out = {}
    for var in ("IDEMPOTENCY_TABLE", "PAYMENTS_TABLE", "OUTBOX_TABLE", "USAGE_TABLE", "EVENTS_TABLE",
                "TENANTS_TABLE", "BREAKER_TABLE"):
        table = env[var]
        sizes = []
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for it in page["Items"]:
                sizes.append(sum(len(k.encode()) + attr_size(v) for k, v in it.items()))
        if sizes:
            out[table] = {"items": len(sizes), "mean_bytes": statistics.mean(sizes), "max_bytes": max(sizes),
                          "wru_mean_item": -(-int(statistics.mean(sizes)) // 1024)}
    return out


# --- one binary -----------------------------------------------------------------------------

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def measure(binary, rt, env, logdir, runs, phases, first_event, first_check):
    """phases: list of (label, event factory, check) run warm in the first run only."""
    path = os.path.join(OPTS["bin_dir"], binary)
    inits, firsts, hwms, warm = [], [], [], {}
    for run in range(runs):
        rt.reset()
        e = dict(env, AWS_LAMBDA_FUNCTION_NAME=binary)
        with open(os.path.join(logdir, f"{binary}-{run}.log"), "wb") as log:
            t0 = time.perf_counter()
            p = spawn([path], e, log)
            if not rt.first_next_evt.wait(INVOKE_TIMEOUT_S) or rt.init_error is not None:
                raise RuntimeError(f"{binary}: no GET next (init error: {rt.init_error!r}); see {log.name}")
            inits.append((rt.first_next - t0) * 1000.0)
            ms, out = rt.invoke(first_event(), binary)
            if not first_check(out):
                raise RuntimeError(f"{binary} first invocation: unexpected answer {json.dumps(out)[:300]}")
            firsts.append(ms)
            if run == 0:
                for label, factory, check in phases:
                    events = [factory(i) for i in range(phases_n[0])]
                    # one untimed warm-up of this kind, so its first-use costs stay out
                    rt.invoke(factory(-1), binary)
                    prof = start_perf(p.pid, binary, label, logdir)
                    (u0, k0), s0 = cpu_split(p.pid), sched_ns(p.pid)
                    lats = []
                    for ev in events:
                        ms, out = rt.invoke(ev, binary)
                        if not check(out):
                            raise RuntimeError(f"{binary} {label}: unexpected answer {json.dumps(out)[:300]}")
                        lats.append(ms)
                    (u1, k1), s1 = cpu_split(p.pid), sched_ns(p.pid)
                    stop_perf(prof)
                    n = len(lats)
                    warm[label] = {
                        "n": n, "p50_ms": statistics.median(lats), "p99_ms": pct(lats, 99),
                        "cpu_ms_stat": (u1 + k1 - u0 - k0) * 1000.0 / CLK_TCK / n,
                        "user_ms": (u1 - u0) * 1000.0 / CLK_TCK / n,
                        "kernel_ms": (k1 - k0) * 1000.0 / CLK_TCK / n,
                        "cpu_ms_schedstat": (s1 - s0) / 1e6 / n,
                    }
            hwms.append(vm_hwm_mb(p.pid))
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
    return {
        "size_mb": os.path.getsize(path) / 1e6,
        "init_ms": inits, "init_ms_median": statistics.median(inits),
        "first_ms": firsts, "first_ms_median": statistics.median(firsts),
        "peak_rss_mb": max(hwms), "warm": warm,
    }


phases_n = [200]
OPTS = {"bin_dir": os.path.join(ROOT, "target", "release"), "perf": False}


def start_perf(pid, binary, label, logdir):
    """With --perf: samples the process (all threads, call graphs) for one warm phase."""
    if not OPTS["perf"]:
        return None
    out = os.path.join(logdir, f"perf-{binary}-{label.split()[0]}.data")
    p = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "20000", "-g",
                          "-p", str(pid), "-o", out], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    CHILDREN.append(p)
    time.sleep(0.5)  # perf attaches before the phase starts
    print(f"perf: {out}")
    return p


def stop_perf(p):
    if p is not None:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)


def status(code):
    return lambda out: isinstance(out, dict) and out.get("statusCode") == code


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--json")
    ap.add_argument("--only", choices=BINARIES + (FLOOR,), action="append",
                    help="measure only these binaries (repeatable; default: the three Lambdas); "
                         "`floor` is tools/floor, the CPU floor of the proxy's create")
    ap.add_argument("--bin-dir", default=OPTS["bin_dir"],
                    help="where the binaries are (default target/release)")
    ap.add_argument("--item-sizes", action="store_true",
                    help="after the proxy's runs, report the stored items' sizes per table (cost model)")
    ap.add_argument("--perf", action="store_true",
                    help="record each warm phase with `perf record -g` (CPU numbers then include perf's cost)")
    a = ap.parse_args()
    phases_n[0] = a.warm
    OPTS["bin_dir"], OPTS["perf"] = os.path.abspath(a.bin_dir), a.perf
    only = a.only or list(BINARIES)

    for b in only:
        if not os.path.exists(os.path.join(OPTS["bin_dir"], b)):
            sys.exit(f"{OPTS['bin_dir']}/{b} is missing: cargo build --release -p proxy -p webhook-receiver -p worker"
                     " [-p floor]")

    logdir = tempfile.mkdtemp(prefix="coldstart-")
    moto_port = free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_X_AMZN"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        IDEMPOTENCY_TABLE="cold-idempotency", PAYMENTS_TABLE="cold-payments", TENANTS_TABLE="cold-tenants",
        EVENTS_TABLE="cold-events", BREAKER_TABLE="cold-breakers", OUTBOX_TABLE="cold-outbox",
        USAGE_TABLE="cold-usage", GATEWAY_RESERVE_MS="500",
        # thousands of creates a minute from one tenant: the per-instance limit would answer 429
        RATE_LIMIT_PER_MINUTE="1000000",
        # moto on a shared 2-core machine can pause for seconds; CPU is what is measured here
        AWS_ATTEMPT_TIMEOUT_MS="20000", AWS_OPERATION_TIMEOUT_MS="25000",
    )
    with open(os.path.join(logdir, "moto.log"), "wb") as log:
        spawn([PY, "infra/moto_serial.py", str(moto_port), "--keep-alive"], env, log)
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        raise RuntimeError("moto did not start")
    with open(os.path.join(logdir, "seed.log"), "wb") as log:
        subprocess.run(["cargo", "run", "--quiet", "-p", "devserver", "--", "seed", "--tenants",
                        "infra/tenants.dev.json"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                       check=True, timeout=300, start_new_session=True)
    import boto3
    queue_url = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing").create_queue(QueueName="cold-webhooks")["QueueUrl"]
    env["WEBHOOK_QUEUE_URL"] = queue_url

    rt = Runtime()
    api_port = free_port()
    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                super().handle_error(request, client_address)  # a killed binary's socket: expected

    server = Server(("127.0.0.1", api_port), make_handler(rt))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env.update(
        AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api_port}", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/coldstart",
        AWS_LAMBDA_LOG_STREAM_NAME="coldstart", AWS_EXECUTION_ENV="AWS_Lambda_provided.al2023",
        LAMBDA_TASK_ROOT=ROOT,
    )

    tag = uuid.uuid4().hex[:8]
    results = {}
    for proxy_like in [b for b in ("proxy", FLOOR) if b in only]:
        # the replay phase's untimed warm-up (i = -1) stores the key the timed replays answer from
        replay_key = f"cold-{tag}-{proxy_like}-replay"
        results[proxy_like] = measure(proxy_like, rt, env, logdir, a.runs, [
            ("health", lambda i: load("health.json"), status(200)),
            ("create (fresh key)", lambda i: create_event(f"cold-{tag}-{uuid.uuid4().hex}"), status(201)),
            ("replay (same key)", lambda i, k=replay_key: create_event(k),
             lambda o: status(201)(o) and (o.get("headers") or {}).get("idempotent-replayed") == "true"),
        ], lambda: create_event(f"cold-{tag}-first-{uuid.uuid4().hex}"), status(201))
    if a.item_sizes:
        results["_item_sizes"] = item_sizes(endpoint, env)
        for t, r in results["_item_sizes"].items():
            print(f"items {t}: {r['items']} items, mean {r['mean_bytes']:.0f} B, max {r['max_bytes']} B")
    if "webhook-receiver" in only or "worker" in only:
        # the worker's batches are the receiver's queued webhooks
        results["webhook-receiver"] = measure("webhook-receiver", rt, env, logdir, a.runs, [
            ("stripe webhook", lambda i: stripe_event(), status(200)),
        ], stripe_event, status(200))
    n_msgs = 0
    if "worker" in only:
        batches, n_msgs = drain_batches(endpoint, queue_url, a.runs + a.warm + 1)
        it = iter(batches)
        results["worker"] = measure("worker", rt, env, logdir, a.runs, [
            ("SQS batch (3 webhooks + 1 poisoned)", lambda i: next(it),
             lambda o: isinstance(o, dict) and len(o.get("batchItemFailures", [])) == 4),
        ], lambda: next(it), lambda o: isinstance(o, dict) and "batchItemFailures" in o)
    results["_meta"] = {"logs": logdir, "queued_webhooks_drained": n_msgs, "runs": a.runs, "warm": a.warm,
                        "cpu": open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": "),
                        "nproc": os.cpu_count()}
    STOP.set()
    server.shutdown()

    for b in BINARIES + (FLOOR,):
        if b not in results:
            continue
        r = results[b]
        print(f"{b}: size {r['size_mb']:.2f} MB, init median {r['init_ms_median']:.1f} ms "
              f"{[round(x, 1) for x in r['init_ms']]}, first invocation median {r['first_ms_median']:.1f} ms "
              f"{[round(x, 1) for x in r['first_ms']]}, peak RSS {r['peak_rss_mb']:.1f} MB")
        for label, w in r["warm"].items():
            print(f"  warm {label}: n={w['n']} p50 {w['p50_ms']:.2f} ms p99 {w['p99_ms']:.2f} ms, "
                  f"CPU/inv {w['cpu_ms_stat']:.3f} ms (stat: user {w['user_ms']:.3f} + kernel {w['kernel_ms']:.3f}) "
                  f"{w['cpu_ms_schedstat']:.3f} ms (schedstat)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    watchdog = threading.Timer(DEADLINE_S, lambda: (kill_all(), os._exit(3)))
    watchdog.daemon = True
    watchdog.start()
    try:
        main()
    finally:
        STOP.set()
        kill_all()
