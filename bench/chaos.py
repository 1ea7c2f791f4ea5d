"""The chaos run: many clients, honest and not (lying about size, type and
checksum, uploading the EICAR test file to a profile that scans), against two API
processes and two workers on
PostgreSQL + Redis + Ceph, while each process is SIGKILLed and restarted, Redis is
restarted (losing every queued job: it keeps nothing on disk), clamd (the run's own, with
an EICAR signature) is SIGKILLed and restarted, PostgreSQL (a cluster of the
run's own) crashes and restarts, and the store is away for STORE_AWAY seconds (30 by
default: a backlog of cleanups and verifications forms and must drain while the clients
keep going). Retention is short (sessions and deliveries pruned seconds after they end,
audit events after AUDIT_KEEP seconds), so pruning runs all through. Then the clients stop,
every deadline passes, the workers sweep, and the run checks what must hold whatever
happened:

  1. bucket bytes = committed bytes (+ bytes of sessions still inside their deadline: none
     once the run has waited past every deadline), and no multipart upload left open;
  2. every session terminal, none owing a cleanup;
  3. every transition audited exactly once: each session's trail is one unbroken chain
     ending at its state, as many links as its version says; a trail may lack a prefix only
     where retention pruned it (the session's first transition older than AUDIT_KEEP), and a
     pruned session leaves no trail behind;
  4. quota counters equal to what the tables say (`sluice quota reconcile` repairs nothing,
     though retention pruned sessions under it);
  5. no webhook lost: every announcing transition still audited was heard by the receiver
     exactly once (by message id and payload), and every delivery row left is delivered.
It also fails on any 5xx answered by Sluice other than a 503 `storage_unavailable` /
`database_unavailable` / `busy` while that component is away, on an honest client that could
not finish unless an outage explains it, and when retention pruned nothing.

Run by bench/chaos.sh (which builds the binary and checks the services); stdlib only.
Loopback only, bounded: DURATION seconds of load (default 60), then at most SETTLE_MAX
seconds of waiting (default 180).
"""
import atexit
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import s3seed  # noqa: E402  (the hand-signed S3 calls of the other bench scripts)
from outage import PrivatePostgres, TcpProxy  # noqa: E402

BIN = os.environ.get("SLUICE_BIN", "target/release/sluice")
DURATION = float(os.environ.get("DURATION", "90"))
STORE_AWAY = float(os.environ.get("STORE_AWAY", "30"))
# Audit events are pruned AUDIT_KEEP seconds after they happened: by the checks (15 s to a
# minute after the clients stop) those of the run's first part are gone, those of its last
# part are all there, so both kinds of trail are checked.
AUDIT_KEEP = round(DURATION)
SETTLE_MAX = float(os.environ.get("SETTLE_MAX", "180"))
CLIENTS = int(os.environ.get("CLIENTS", "12"))
SEED = int(os.environ.get("SEED", str(int(time.time()))))
SERVICE_KEY = "chaos-service-key-0123456789abcdef"
ADMIN_KEY = "chaos-admin-key-0123456789abcdef"
WEBHOOK_KEY = b"chaos-webhook-secret-32-bytes!!!"
MIB = 1024 * 1024
UPLOAD_TTL = 12  # seconds: short, so that every abandoned session ends inside the run
COMMIT_TTL = 12
SCAN_VERIFY_TTL = 60
LATE_PUT_GRACE = 3

S3 = (os.environ["SLUICE_TEST_S3_ENDPOINT"], os.environ.get("SLUICE_TEST_S3_REGION", "us-east-1"),
      os.environ["SLUICE_TEST_S3_ACCESS_KEY_ID"], os.environ["SLUICE_TEST_S3_SECRET_ACCESS_KEY"])
PG = None  # the run's own PostgreSQL (PrivatePostgres), set by main()

stamp = f"{int(time.time())}{os.getpid()}"
DB = f"sluice_chaos_{stamp}"
BUCKET = f"sluice-chaos-{stamp}"
RUN = tempfile.mkdtemp(prefix="sluice-chaos-")
failures = []
tally = {}
tally_lock = threading.Lock()


def count(what, n=1):
    with tally_lock:
        tally[what] = tally.get(what, 0) + n


def fail(message):
    with tally_lock:
        failures.append(message)
    print(f"chaos: FAIL {message}", flush=True)


# What was away and when: (what, since, until or None while still away).
outages = []
OUTAGE_SLACK = 20  # seconds after a component is back during which its effects may show
client_state = threading.local()


def away(what, since, until=None):
    with tally_lock:
        outages.append([what, since, until])
        return len(outages) - 1


def back(index):
    with tally_lock:
        outages[index][2] = time.time()


def outage_explains(since, kinds=("store", "postgres")):
    """Whether a component in `kinds` was away (or just back) at some moment since `since`."""
    now = time.time()
    with tally_lock:
        return any(what in kinds and start <= now and (until is None or until + OUTAGE_SLACK >= since)
                   for what, start, until in outages)


def soft_fail(message):
    """A client outcome an outage can explain (an honest upload not finished, a download
    that broke): a failure unless the store or the database was away during this client's
    operation."""
    if outage_explains(getattr(client_state, "since", time.time())):
        count("outcomes_explained_by_an_outage")
    else:
        fail(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql, db=DB):
    out = subprocess.run(["psql", f"{PG}/{db}", "-AtqX", "-F", "\t", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


# ---------------------------------------------------------------- processes

class Proc:
    """One process of the run, restartable, logging to a file of its own."""

    def __init__(self, name, args, env):
        self.name, self.args, self.env, self.p, self.starts = name, args, env, None, 0

    def start(self):
        self.starts += 1
        log = open(os.path.join(RUN, f"{self.name}.{self.starts}.log"), "w")
        self.p = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)

    def kill9(self):
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()
        print(f"chaos: SIGKILL {self.name}", flush=True)

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()


def wait_http(port, path="/readyz", timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"chaos: port {port} not ready")


def clamd_conf():
    """The run's clamd: one signature, the EICAR test file's MD5 and size."""
    db = os.path.join(RUN, "clamdb")
    os.makedirs(db, exist_ok=True)
    with open(os.path.join(db, "test.hdb"), "w") as f:
        f.write(f"44d88612fea8a8f36de82e1278abb02f:{len(EICAR)}:Sluice-Test-EICAR\n")
    conf = os.path.join(RUN, "clamd.conf")
    with open(conf, "w") as f:
        f.write(f"Foreground yes\nDatabaseDirectory {db}\nTCPSocket {CLAMD_PORT}\nTCPAddr 127.0.0.1\n")
    return conf


def wait_clamd(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"zPING\0")
                if s.recv(8).startswith(b"PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    fail("clamd did not answer")


def wait_redis(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise SystemExit("chaos: redis did not start")


# ---------------------------------------------------------------- webhook receiver

heard = {}  # message id -> (upload id, event type), from the signed payload
heard_lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        mid, ts = self.headers.get("webhook-id", ""), self.headers.get("webhook-timestamp", "")
        mac = hmac.new(WEBHOOK_KEY, f"{mid}.{ts}.".encode() + body, hashlib.sha256).digest()
        expected = "v1," + base64.b64encode(mac).decode()
        if expected not in self.headers.get("webhook-signature", "").split(" "):
            fail(f"webhook {mid} carries a bad signature")
        # Now and then the endpoint is down for a moment: deliveries must be retried (the
        # run's schedule allows nine attempts, so a delivery given up means a real loss).
        if random.random() < 0.1:
            self.send_response(503)
            self.end_headers()
            return
        try:
            event = json.loads(body)
            about = (event["data"]["upload"]["id"], event["type"])
        except (ValueError, KeyError, TypeError):
            fail(f"webhook {mid} carries an unreadable payload: {body[:200]!r}")
            about = ("", "")
        with heard_lock:
            if heard.setdefault(mid, about) != about:
                fail(f"webhook {mid} carried two different payloads")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


# ---------------------------------------------------------------- talking to Sluice

UNAVAILABLE = {"storage_unavailable": ("store",), "database_unavailable": ("postgres",), "busy": ()}


class Api:
    """Round-robins over the API processes; a connection refused or reset (a killed
    process) is retried on the other one, as a load balancer would."""

    def __init__(self, ports):
        self.ports = ports

    def call(self, method, path, owner, body=None, admin=False, tries=80):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"authorization": f"Bearer {ADMIN_KEY if admin else SERVICE_KEY}"}
        if not admin:
            headers["x-sluice-owner"] = owner
        if data is not None:
            headers["content-type"] = "application/json"
        for attempt in range(tries):
            port = random.choice(self.ports)
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                text = r.read()
                status = r.status
                location = r.getheader("location")
            except (OSError, http.client.HTTPException):
                count("api_connection_errors")
                time.sleep(0.25)
                continue
            try:
                payload = json.loads(text) if text else None
            except ValueError:
                payload = text
            code = payload.get("code") if isinstance(payload, dict) else None
            if status == 503 and code in UNAVAILABLE and (code == "busy" or outage_explains(
                    time.time() - 1, UNAVAILABLE[code])):
                # What a polite client does with a 503 and its Retry-After.
                count(f"api_503_{code}")
                time.sleep(float(r.getheader("retry-after") or 1))
                continue
            if status >= 500:
                fail(f"{method} {path} answered {status}: {text[:300]!r}")
            return status, payload, location
        raise RuntimeError(f"{method} {path}: no API process answered")


def store_request(method, url, headers, body):
    """A request to the store on a presigned URL; returns the status, or None when the
    connection broke."""
    u = urllib.parse.urlsplit(url)
    try:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        c.request(method, f"{u.path}?{u.query}", body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        return r.status, data, r.getheader("etag")
    except (OSError, http.client.HTTPException):
        return None, b"", None


def put_headers(signed, length, **replace):
    h = {k: v for k, v in signed.items() if k != "content-length"}
    h["content-length"] = str(length)
    h.update(replace)
    return h


def crash_put(url, headers, body):
    """Sends the headers and half the body, then drops the connection (a client that died)."""
    u = urllib.parse.urlsplit(url)
    try:
        s = socket.create_connection((u.hostname, u.port), timeout=10)
    except OSError:
        return  # the store is away: this client died before it could even connect
    lines = [f"PUT {u.path}?{u.query} HTTP/1.1", f"host: {u.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body[: len(body) // 2])
    s.close()


# ---------------------------------------------------------------- clients

def create(api, owner, size, ctype="application/octet-stream", name="f.bin"):
    status, body, _ = api.call("POST", "/v1/uploads", owner,
                               {"profile": "default", "filename": name, "size": size, "content_type": ctype})
    if status == 201:
        count("sessions_created")
    if status != 201:
        fail(f"create answered {status}: {body}")
        return None
    return body


def finish(api, owner, sid):
    """complete until the session is out of `pending`/`verifying`/`scanning`; returns its
    state. Up to a minute: a scan may wait out a clamd restart and a worker's lease."""
    for _ in range(120):
        status, body, _ = api.call("POST", f"/v1/uploads/{sid}/complete", owner)
        state = body.get("session", body).get("state") if isinstance(body, dict) else None
        if status == 200 and state == "uploaded":
            return "uploaded"
        if status == 202 or state in ("verifying", "scanning"):
            time.sleep(0.5)
            continue
        if status == 422:
            return "rejected"
        if status == 409 and isinstance(body, dict) and body.get("code") == "not_uploaded":
            return "not_uploaded"
        if status == 410:
            return "expired"
        if status == 200 and state:
            return state
        time.sleep(0.5)
    return "stuck"


def commit(api, owner, sid):
    status, body, _ = api.call("POST", f"/v1/uploads/{sid}/commit", owner)
    if status in (200, 201):
        return body
    # A commit whose answer was lost to a killed process: the session says what happened.
    status, session, _ = api.call("GET", f"/v1/uploads/{sid}", owner)
    if status == 200 and session.get("state") == "committed":
        return {"id": None}
    fail(f"commit of {sid} answered {status}: {body}")
    return None


def honest_put(api, owner, rng):
    size = rng.randint(1, 256 * 1024)
    data = rng.randbytes(size)
    up = create(api, owner, size)
    if not up:
        return
    status, _, _ = store_request("PUT", up["put"]["url"], put_headers(up["put"]["headers"], size), data)
    if status != 200:
        soft_fail(f"honest PUT answered {status}")
        return
    state = finish(api, owner, up["id"])
    if state != "uploaded":
        soft_fail(f"honest upload {up['id']} ended {state}")
        return
    file = commit(api, owner, up["id"])
    if not file:
        return
    count("honest_put_committed")
    if file.get("id") and rng.random() < 0.3:
        status, _, location = api.call("GET", f"/v1/files/{file['id']}/download", owner)
        got = store_request("GET", location, {}, None) if status == 302 else (None, b"", None)
        if got[0] is None and status == 302:
            soft_fail(f"download of {file['id']}: the store did not answer")
        elif got[0] != 200 or got[1] != data:
            fail(f"download of {file['id']} gave {status}/{got[0]}, {len(got[1])} bytes")
        else:
            count("downloads_checked")
    if file.get("id") and rng.random() < 0.2:
        status, _, _ = api.call("DELETE", f"/v1/files/{file['id']}", owner)
        if status not in (200, 204, 404):
            fail(f"delete answered {status}")
        count("files_deleted")


def multipart_parts(api, owner, up, numbers):
    status, body, _ = api.call("POST", f"/v1/uploads/{up['id']}/parts", owner, {"part_numbers": numbers})
    if status != 200:
        fail(f"parts answered {status}: {body}")
        return []
    return body["parts"]


def honest_multipart(api, owner, rng):
    size = 5 * MIB + rng.randint(1, MIB)
    data = rng.randbytes(size)
    up = create(api, owner, size)
    if not up:
        return
    part_size = up["multipart"]["part_size"]
    for part in multipart_parts(api, owner, up, list(range(1, up["multipart"]["part_count"] + 1))):
        n = part["part_number"]
        chunk = data[(n - 1) * part_size: n * part_size]
        status, _, _ = store_request("PUT", part["url"], put_headers(part.get("headers", {}), len(chunk)), chunk)
        if status != 200:
            soft_fail(f"honest part {n} answered {status}")
            return
    state = finish(api, owner, up["id"])
    if state != "uploaded":
        soft_fail(f"honest multipart {up['id']} ended {state}")
        return
    if commit(api, owner, up["id"]):
        count("honest_multipart_committed")


def abandoner(api, owner, rng):
    size = rng.randint(1, 64 * 1024)
    up = create(api, owner, size)
    if not up:
        return
    how = rng.choice(["nothing", "put", "uploaded"])
    if how != "nothing":
        store_request("PUT", up["put"]["url"], put_headers(up["put"]["headers"], size), rng.randbytes(size))
    if how == "uploaded":
        finish(api, owner, up["id"])
    count(f"abandoned_{how}")


def abandoner_multipart(api, owner, rng):
    size = 5 * MIB + 1024
    up = create(api, owner, size)
    if not up:
        return
    part = multipart_parts(api, owner, up, [1])
    if part:
        store_request("PUT", part[0]["url"], put_headers(part[0].get("headers", {}), 5 * MIB), rng.randbytes(5 * MIB))
    count("abandoned_multipart")


def liar(api, owner, rng):
    size = rng.randint(1024, 64 * 1024)
    up = create(api, owner, size, "image/png", "a.png")
    if not up:
        return
    signed = up["put"]["headers"]
    lie = rng.choice(["longer", "shorter", "type"])
    if lie == "longer":
        status, _, _ = store_request("PUT", up["put"]["url"], put_headers(signed, size + 7), rng.randbytes(size + 7))
    elif lie == "shorter":
        status, _, _ = store_request("PUT", up["put"]["url"], put_headers(signed, size - 1), rng.randbytes(size - 1))
    else:
        status, _, _ = store_request("PUT", up["put"]["url"], put_headers(signed, size, **{"content-type": "text/html"}),
                                     rng.randbytes(size))
    if status is not None and 200 <= status < 300:
        fail(f"the store accepted a {lie} lie ({status})")
    state = finish(api, owner, up["id"])
    if state not in ("not_uploaded", "rejected"):
        soft_fail(f"a {lie} lie ended {state}")
    if rng.random() < 0.5:
        api.call("POST", f"/v1/uploads/{up['id']}/abort", owner)
    count(f"lie_{lie}_refused")


def liar_checksum(api, owner, rng):
    """Declares the SHA-256 of other bytes. A store that checks refuses the PUT (and Sluice
    rejects what it kept); one that does not (Ceph 16) takes it, and then the session must
    say its checksum was not verified: never `checksum_verified: true` for a lie."""
    size = rng.randint(1, 64 * 1024)
    data = rng.randbytes(size)
    status, up, _ = api.call("POST", "/v1/uploads", owner, {
        "profile": "default", "filename": "c.bin", "size": size, "content_type": "application/octet-stream",
        "sha256": hashlib.sha256(data + b"!").hexdigest()})
    if status != 201:
        fail(f"create with a sha256 answered {status}: {up}")
        return
    stored, _, _ = store_request("PUT", up["put"]["url"], put_headers(up["put"]["headers"], size), data)
    state = finish(api, owner, up["id"])
    _, session, _ = api.call("GET", f"/v1/uploads/{up['id']}", owner)
    if state == "uploaded" and session.get("checksum_verified") is not False:
        fail(f"a checksum lie ended uploaded with checksum_verified {session.get('checksum_verified')}")
    count(f"lie_checksum_{'refused_by_store' if stored != 200 else state}")


def liar_multipart(api, owner, rng):
    up = create(api, owner, 5 * MIB + 100)
    if not up:
        return
    part = multipart_parts(api, owner, up, [2])
    if not part:
        return
    status, _, _ = store_request("PUT", part[0]["url"], put_headers(part[0].get("headers", {}), 500), rng.randbytes(500))
    if status is not None and 200 <= status < 300:
        fail(f"the store accepted a part of a size not signed ({status})")
    count("lie_part_refused")


def replayer(api, owner, rng):
    size = rng.randint(1, 32 * 1024)
    data = rng.randbytes(size)
    up = create(api, owner, size)
    if not up:
        return
    h = put_headers(up["put"]["headers"], size)
    first, _, _ = store_request("PUT", up["put"]["url"], h, data)
    second, _, _ = store_request("PUT", up["put"]["url"], h, rng.randbytes(size))
    if second is not None and 200 <= second < 300:
        fail(f"the store took a replayed PUT ({second})")
    if first != 200 or second not in (412, 409, 403):
        soft_fail(f"replayed PUT: first {first}, second {second}")
        return
    s1 = finish(api, owner, up["id"])
    s2 = finish(api, owner, up["id"])
    if s1 != "uploaded" or s2 != "uploaded":
        soft_fail(f"complete twice gave {s1}, {s2}")
        return
    if commit(api, owner, up["id"]):
        count("replay_committed")
    status, body, _ = api.call("POST", f"/v1/uploads/{up['id']}/commit", owner)
    if status not in (200, 201, 409):
        fail(f"second commit answered {status}: {body}")


def crasher(api, owner, rng):
    size = rng.randint(64 * 1024, 256 * 1024)
    up = create(api, owner, size)
    if not up:
        return
    crash_put(up["put"]["url"], put_headers(up["put"]["headers"], size), rng.randbytes(size))
    if rng.random() < 0.5:
        finish(api, owner, up["id"])
    count("crashed_put")


EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def scanned(api, owner, rng, infected):
    """An upload to the `scanned` profile: the EICAR test file (rejected with
    `malware_detected`, its bytes deleted) or clean bytes (uploaded once clamd passed them,
    then committed). A clamd restart only delays either."""
    data = EICAR if infected else rng.randbytes(rng.randint(1, 64 * 1024))
    status, up, _ = api.call("POST", "/v1/uploads", owner,
                             {"profile": "scanned", "filename": "s.txt", "size": len(data),
                              "content_type": "text/plain"})
    if status != 201:
        fail(f"create (scanned) answered {status}: {up}")
        return
    status, _, _ = store_request("PUT", up["put"]["url"], put_headers(up["put"]["headers"], len(data)), data)
    if status != 200:
        soft_fail(f"scanned PUT answered {status}")
        return
    state = finish(api, owner, up["id"])
    if infected:
        if state in ("uploaded", "committed"):
            fail(f"the EICAR upload {up['id']} was passed ({state})")
        elif state == "rejected":
            status, session, _ = api.call("GET", f"/v1/uploads/{up['id']}", owner)
            if session.get("failure") != "malware_detected":
                fail(f"the EICAR upload {up['id']} was rejected for {session.get('failure')}")
            count("infected_rejected")
        else:
            soft_fail(f"the EICAR upload {up['id']} ended {state}")
        return
    if state != "uploaded":
        soft_fail(f"clean scanned upload {up['id']} ended {state}")
        return
    if commit(api, owner, up["id"]):
        count("scanned_clean_committed")


def infected(api, owner, rng):
    scanned(api, owner, rng, True)


def scanned_clean(api, owner, rng):
    scanned(api, owner, rng, False)


def aborter(api, owner, rng):
    size = rng.randint(1, 32 * 1024)
    up = create(api, owner, size)
    if not up:
        return
    store_request("PUT", up["put"]["url"], put_headers(up["put"]["headers"], size), rng.randbytes(size))
    status, body, _ = api.call("POST", f"/v1/uploads/{up['id']}/abort", owner)
    if status != 200:
        fail(f"abort answered {status}: {body}")
    count("aborted")


KINDS = [(honest_put, 30), (honest_multipart, 3), (abandoner, 10), (abandoner_multipart, 2),
         (liar, 8), (liar_checksum, 4), (liar_multipart, 3), (replayer, 6), (crasher, 5), (aborter, 5),
         (infected, 4), (scanned_clean, 4)]


def client_loop(api, index, stop):
    rng = random.Random(SEED * 1000 + index)
    owner = f"owner-{index % 5}"
    kinds, weights = zip(*KINDS)
    while not stop.is_set():
        kind = rng.choices(kinds, weights)[0]
        client_state.since = time.time()
        try:
            kind(api, owner, rng)
        except Exception as e:  # a client bug must not pass unseen
            fail(f"{kind.__name__} raised {e!r}")


# ---------------------------------------------------------------- checks

def bucket_objects():
    objects, token = {}, None
    while True:
        # SigV4 signs the query sorted by name: the token goes first.
        query = (f"continuation-token={urllib.parse.quote(token, safe='')}&" if token else "") + "list-type=2&max-keys=1000"
        body = s3seed.call(*S3, "GET", f"/{BUCKET}", query).decode()
        for entry in body.split("<Contents>")[1:]:
            key = entry.split("<Key>")[1].split("</Key>")[0]
            objects[key] = int(entry.split("<Size>")[1].split("</Size>")[0])
        if "<IsTruncated>true</IsTruncated>" not in body:
            return objects
        token = body.split("<NextContinuationToken>")[1].split("</NextContinuationToken>")[0]


def open_multipart_uploads():
    body = s3seed.call(*S3, "GET", f"/{BUCKET}", "uploads=").decode()
    return body.count("<Upload>")


LIVE = "('pending','verifying','uploaded')"


def owing_cleanup():
    return int(psql("SELECT count(*) FROM upload_sessions WHERE cleanup_due_at IS NOT NULL")[0][0])


def settled():
    live = int(psql(f"SELECT count(*) FROM upload_sessions WHERE state IN {LIVE}")[0][0])
    owing = owing_cleanup()
    jobs = int(psql("SELECT count(*) FROM outbox_jobs WHERE upload_id IS NOT NULL")[0][0])
    hooks = int(psql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")[0][0])
    return live, owing, jobs, hooks


def check():
    # 1. Bucket bytes against the books.
    objects = bucket_objects()
    committed = dict((k, int(s)) for k, s in psql("SELECT key, size FROM upload_sessions WHERE state = 'committed'"))
    live = psql(f"SELECT key, size FROM upload_sessions WHERE state IN {LIVE} AND expires_at > now()")
    live_bytes = sum(int(s) for _, s in live)
    bucket_bytes, committed_bytes = sum(objects.values()), sum(committed.values())
    print(f"chaos: bucket {len(objects)} objects {bucket_bytes} B; committed {len(committed)} sessions "
          f"{committed_bytes} B; live within deadline {len(live)} sessions {live_bytes} B")
    if bucket_bytes > committed_bytes + live_bytes:
        fail(f"bucket holds {bucket_bytes - committed_bytes - live_bytes} B nobody committed")
    strangers = sorted(set(objects) - set(committed) - {k for k, _ in live})
    if strangers:
        fail(f"{len(strangers)} objects no committed or live session owns, e.g. {strangers[:3]}")
    missing = sorted(set(committed) - set(objects))
    if missing:
        fail(f"{len(missing)} committed files missing from the bucket, e.g. {missing[:3]}")
    for key, size in committed.items():
        if key in objects and objects[key] != size:
            fail(f"{key}: stored {objects[key]} B, committed {size} B")
    mpu = open_multipart_uploads()
    print(f"chaos: open multipart uploads in the bucket: {mpu}")
    if mpu and not live:
        fail(f"{mpu} multipart uploads left open")

    # 2. Every session terminal (or within its deadline), none owing a cleanup.
    states = dict(psql("SELECT state, count(*) FROM upload_sessions GROUP BY state"))
    print(f"chaos: sessions by state {states}")
    overdue = psql(f"SELECT id, state FROM upload_sessions WHERE state IN {LIVE} AND expires_at <= now()")
    if overdue:
        fail(f"{len(overdue)} sessions live past their deadline, e.g. {overdue[:3]}")
    owing = owing_cleanup()
    if owing:
        fail(f"{owing} sessions still owe a cleanup")

    # 3. Every transition audited once: an unbroken chain of version + 1 links, of which
    # retention may have pruned a prefix, never a link younger than AUDIT_KEEP.
    sessions = {sid: (state, int(version), float(age)) for sid, state, version, age in psql(
        "SELECT id, state, version, extract(epoch FROM now() - created_at) FROM upload_sessions")}
    trails = {}
    for sid, frm, to in psql("SELECT upload_id, coalesce(from_state, ''), to_state FROM audit_events "
                             "WHERE kind = 'transition' ORDER BY id"):
        trails.setdefault(sid, []).append((frm, to))
    broken, partial, complete = 0, 0, set()
    for sid, (state, version, age) in sessions.items():
        trail = trails.get(sid, [])
        linked = all(trail[i][0] == trail[i - 1][1] for i in range(1, len(trail)))
        whole = bool(trail) and trail[0][0] == ""
        if whole:
            ok = linked and trail[-1][1] == state and len(trail) == version + 1
            complete.add(sid)
        else:
            # A pruned prefix: only of a session older than the audit retention, and the
            # links left still end at its state (none left: every link was old enough).
            partial += 1
            ok = age > AUDIT_KEEP and linked and len(trail) < version + 1 and (not trail or trail[-1][1] == state)
        if not ok:
            broken += 1
            if broken <= 3:
                fail(f"session {sid} ({state}, version {version}, {age:.0f}s old) has the trail {trail}")
    orphans = set(trails) - set(sessions)
    if orphans:
        fail(f"{len(orphans)} audit trails of sessions that do not exist")
    created = tally.get("sessions_created", 0)
    print(f"chaos: {sum(len(t) for t in trails.values())} transitions audited over {len(sessions)} sessions "
          f"({len(complete)} whole trails, {partial} with a pruned prefix); {broken} broken trails; "
          f"{created} sessions created, {created - len(sessions)} pruned")
    if created - len(sessions) <= 0 or partial == 0:
        fail("retention pruned no session or no audit event during the run")
    if len(complete) < 100:
        fail(f"only {len(complete)} whole trails are left to check: retention outran the checks")

    # 4. Quota counters equal to what the tables say.
    env = dict(os.environ, **base_env())
    out = subprocess.run([BIN, "quota", "reconcile"], env=env, capture_output=True, text=True)
    print(f"chaos: quota reconcile: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    if out.returncode != 0 or out.stdout.strip() or "0 quota counters repaired" not in out.stderr:
        fail(f"quota counters drifted: {out.stdout.strip()[:500]} {out.stderr.strip()[-300:]}")

    # 5. No webhook lost.
    announcing = {"uploaded": "upload.uploaded", "rejected": "upload.rejected", "expired": "upload.expired",
                  "committed": "upload.committed", "deleted": "file.deleted"}
    owed = {}
    for sid, to in psql("SELECT upload_id, to_state FROM audit_events WHERE kind = 'transition'"):
        if to in announcing:
            owed[(sid, announcing[to])] = owed.get((sid, announcing[to]), 0) + 1
    deliveries = {}
    for sid, kind, mid, status in psql("SELECT upload_id, event_type, message_id, status FROM webhook_deliveries"):
        deliveries.setdefault((sid, kind), []).append((mid, status))
    with heard_lock:
        messages = {}
        for sid, kind in heard.values():
            messages[(sid, kind)] = messages.get((sid, kind), 0) + 1
        unheard = [d for ds in deliveries.values() for d in ds if d[0] not in heard]
    # Heard exactly as often as audited where the whole trail is kept; at least as often
    # where retention pruned a prefix of it.
    lost = [k for k, n in owed.items()
            if messages.get(k, 0) != n and not (k[0] not in complete and messages.get(k, 0) >= n)]
    undelivered = [d for ds in deliveries.values() for d in ds if d[1] != "delivered"]
    print(f"chaos: webhooks owed {sum(owed.values())} (by the audit trails kept), delivery rows kept "
          f"{sum(len(d) for d in deliveries.values())}, messages heard {len(heard)}; lost {len(lost)}, "
          f"undelivered {len(undelivered)}, unheard {len(unheard)}")
    if sum(owed.values()) < 100:
        fail(f"only {sum(owed.values())} announcing transitions are left to check")
    if lost:
        fail(f"{len(lost)} announced transitions not heard exactly once, e.g. "
             f"{[(k, owed[k], messages.get(k, 0)) for k in lost[:3]]}")
    if undelivered or unheard:
        fail(f"webhooks not delivered: {undelivered[:3]} unheard: {unheard[:3]}")


# ---------------------------------------------------------------- the run

REDIS_PORT = free_port()
HOOK_PORT = free_port()
CLAMD_PORT = free_port()
API_PORTS = [free_port(), free_port()]
PG_PORT = free_port()
STORE_PROXY_PORT = free_port()


def base_env():
    return {
        "SLUICE__DATABASE__URL": f"{PG}/{DB}",
        "SLUICE__DATABASE__MAX_CONNECTIONS": "8",
        "SLUICE__QUEUE__REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/",
        "SLUICE__QUEUE__NAMESPACE": f"chaos{stamp}",
        "SLUICE__QUEUE__POLL_INTERVAL": "250ms",
        "SLUICE__QUEUE__RELAY_INTERVAL": "1s",
        "SLUICE__QUEUE__SWEEP_INTERVAL": "3s",
        "SLUICE__QUEUE__VERIFY_DELAY": "1s",
        "SLUICE__QUEUE__DISPATCH_LEASE": "10s",
        "SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK": '["1s", "1s", "2s", "2s", "2s", "2s", "2s", "2s"]',
        "SLUICE__QUEUE__RETRY__CLEANUP_SESSION": '["1s", "2s"]',
        # Sluice and the URLs it signs reach the store through the proxy the run cuts.
        "SLUICE__STORAGE__ENDPOINT": f"http://127.0.0.1:{STORE_PROXY_PORT}",
        "SLUICE__STORAGE__REGION": S3[1],
        "SLUICE__STORAGE__ACCESS_KEY_ID": S3[2],
        "SLUICE__STORAGE__SECRET_ACCESS_KEY": S3[3],
        "SLUICE__STORAGE__BUCKET": BUCKET,
        "SLUICE__STORAGE__FORCE_PATH_STYLE": "true",
        "SLUICE__AUTH__TOKEN_SECRET": "chaos-token-secret-0123456789-abcdefghij",
        "SLUICE__AUTH__SERVICE_KEYS": f'["{SERVICE_KEY}"]',
        "SLUICE__AUTH__ADMIN_KEYS": f'["{ADMIN_KEY}"]',
        "SLUICE__CLEANUP__LATE_PUT_GRACE": f"{LATE_PUT_GRACE}s",
        "SLUICE__CLEANUP__STALE_MULTIPART_GRACE": "5s",
        "SLUICE__QUOTA__STORED_BYTES": "10GiB",
        "SLUICE__QUOTA__DAILY_BYTES": "100GiB",
        "SLUICE__QUOTA__RECONCILE_INTERVAL": "20s",
        "SLUICE__PROFILES__DEFAULT__UPLOAD_TTL": f"{UPLOAD_TTL}s",
        "SLUICE__PROFILES__DEFAULT__COMMIT_TTL": f"{COMMIT_TTL}s",
        "SLUICE__PROFILES__DEFAULT__VERIFY_TTL": f"{COMMIT_TTL}s",
        "SLUICE__PROFILES__DEFAULT__MULTIPART_THRESHOLD": "5MiB",
        "SLUICE__PROFILES__DEFAULT__PART_SIZE": "5MiB",
        "SLUICE__PROFILES__DEFAULT__MAX_SIZE": "64MiB",
        "SLUICE__PROFILES__DEFAULT__DAILY_UPLOADS": "100000",
        "SLUICE__SCANNER__CLAMD": f"tcp://127.0.0.1:{CLAMD_PORT}",
        "SLUICE__PROFILES__SCANNED__SCAN": "true",
        "SLUICE__PROFILES__SCANNED__UPLOAD_TTL": f"{UPLOAD_TTL}s",
        "SLUICE__PROFILES__SCANNED__COMMIT_TTL": f"{COMMIT_TTL}s",
        # A scan needs a worker and clamd: a deadline that outlasts a clamd restart, a
        # SIGKILLed worker's dispatch lease and the scan job's retry ladder (2 s, 5 s,
        # 15 s). Shorter, a scanning session expires at its deadline, as designed.
        "SLUICE__PROFILES__SCANNED__VERIFY_TTL": f"{SCAN_VERIFY_TTL}s",
        "SLUICE__PROFILES__SCANNED__DAILY_UPLOADS": "100000",
        "SLUICE__WEBHOOKS__ENDPOINTS__CHAOS__URL": f"http://127.0.0.1:{HOOK_PORT}/hook",
        "SLUICE__WEBHOOKS__ENDPOINTS__CHAOS__SECRET": "whsec_" + base64.b64encode(WEBHOOK_KEY).decode(),
        "SLUICE__WEBHOOKS__TIMEOUT": "2s",
        # Short enough that pruning runs all through the run (see the module header).
        "SLUICE__RETENTION__SESSIONS": "5s",
        "SLUICE__RETENTION__AUDIT_EVENTS": f"{AUDIT_KEEP}s",
        "SLUICE__RETENTION__WEBHOOK_DELIVERIES": "5s",
        "SLUICE__RETENTION__INTERVAL": "2s",
        "SLUICE__RETENTION__BATCH": "200",
        "SLUICE_LOG": os.environ.get("SLUICE_LOG", "warn"),
    }


def main():
    global PG
    print(f"chaos: seed {SEED}, {CLIENTS} clients for {DURATION:.0f}s; database {DB}, bucket {BUCKET}, logs {RUN}",
          flush=True)
    postgres = PrivatePostgres(tempfile.mkdtemp(prefix="sluice-chaos-pg-"), PG_PORT)
    postgres.init()
    # Whatever happens, the run's PostgreSQL does not outlive it (its files stay when the
    # run failed, for a look: `pg_ctl -D <dir> start`).
    atexit.register(postgres.stop)
    PG = postgres.url
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {DB}"], check=True)
    s3seed.call(*S3, "PUT", f"/{BUCKET}")
    store = urllib.parse.urlsplit(S3[0])
    store_proxy = TcpProxy(STORE_PROXY_PORT, (store.hostname, store.port or 80))
    redis = Proc("redis", ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no"], dict(os.environ))
    redis.start()
    wait_redis(REDIS_PORT)
    clamd = Proc("clamd", ["clamd", "-c", clamd_conf()], dict(os.environ))
    clamd.start()
    wait_clamd(CLAMD_PORT)
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Hook)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()

    env = dict(os.environ, **base_env())
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    apis = [Proc(f"api{i + 1}", [BIN, "serve", "--no-workers"],
                 dict(env, SLUICE__SERVER__BIND=f"127.0.0.1:{p}", SLUICE__SERVER__DATA_DIR=os.path.join(RUN, f"api{i + 1}")))
            for i, p in enumerate(API_PORTS)]
    workers = [Proc(f"worker{i + 1}", [BIN, "worker"],
                    dict(env, SLUICE__SERVER__DATA_DIR=os.path.join(RUN, f"worker{i + 1}")))
               for i in range(2)]
    everything = apis + workers
    try:
        for p in everything:
            p.start()
        for port in API_PORTS:
            wait_http(port)
        api = Api(API_PORTS)
        stop = threading.Event()
        clients = [threading.Thread(target=client_loop, args=(api, i, stop)) for i in range(CLIENTS)]
        for t in clients:
            t.start()

        def restart(proc, after=1.5):
            proc.kill9()
            time.sleep(after)
            proc.start()
            if proc is not redis:
                count("sigkills")

        def store_away():
            index = away("store", time.time())
            store_proxy.cut()
            print(f"chaos: the store is away for {STORE_AWAY:.0f}s", flush=True)
            time.sleep(STORE_AWAY)
            store_proxy.restore()
            back(index)
            print("chaos: the store is back", flush=True)
            count("store_outages")

        def clamd_restart():
            clamd.kill9()
            time.sleep(3)
            clamd.start()
            wait_clamd(CLAMD_PORT)
            count("clamd_restarts")

        def postgres_crash():
            index = away("postgres", time.time())
            postgres.crash()
            print("chaos: PostgreSQL crashed (immediate stop)", flush=True)
            time.sleep(3)
            postgres.start()
            back(index)
            print("chaos: PostgreSQL is back", flush=True)
            count("postgres_restarts")

        started = time.time()
        # In fractions of the run: the store is away from 0.2 to 0.2 + STORE_AWAY (the other
        # faults go on meanwhile), PostgreSQL crashes at 0.6, once the store is back.
        plan = [(0.1, lambda: restart(apis[0])), (0.2, store_away), (0.3, lambda: restart(workers[0])),
                (0.45, lambda: (restart(redis), wait_redis(REDIS_PORT), count("redis_restarts"))),
                (0.5, clamd_restart),
                (0.6, postgres_crash), (0.7, lambda: restart(apis[1])), (0.85, lambda: restart(workers[1]))]
        faults = []
        for at, fault in plan:
            time.sleep(max(0.0, started + at * DURATION - time.time()))
            # Each fault in its own thread, so that a long one (the store away) overlaps
            # the next.
            t = threading.Thread(target=fault)
            t.start()
            faults.append(t)
        for t in faults:
            t.join()
        time.sleep(max(0.0, started + DURATION - time.time()))
        stop.set()
        for t in clients:
            t.join(120)
        print(f"chaos: clients stopped after {time.time() - started:.0f}s: {json.dumps(tally, sort_keys=True)}", flush=True)

        # Every deadline passes, the sweep expires and cleans, the jobs and webhooks drain.
        time.sleep(max(UPLOAD_TTL, COMMIT_TTL) + LATE_PUT_GRACE)
        deadline = time.time() + SETTLE_MAX
        while time.time() < deadline:
            state = settled()
            if state == (0, 0, 0, 0):
                break
            print(f"chaos: {time.time() - started - DURATION:.0f}s after the clients stopped: (live, owing "
                  f"cleanup, jobs, undelivered webhooks) = {state}", flush=True)
            time.sleep(2)
        print(f"chaos: settled in {time.time() - started - DURATION:.0f}s after the clients stopped "
              f"(live, owing cleanup, jobs, undelivered webhooks) = {settled()}", flush=True)
        for p in everything:
            p.stop()
        check()
    finally:
        for p in everything + [redis, clamd]:
            p.stop()
        hooks.shutdown()
        store_proxy.cut()
    if failures:
        print(f"chaos: FAILED ({len(failures)} failures); logs kept in {RUN}, the database's files in "
              f"{postgres.data}")
        return 1
    print(f"chaos: PASS (seed {SEED})")
    # The database and the committed objects are dropped so that runs do not pile up.
    for key in bucket_objects():
        s3seed.call(*S3, "DELETE", f"/{BUCKET}/{key}")
    s3seed.call(*S3, "DELETE", f"/{BUCKET}")
    postgres.destroy()
    shutil.rmtree(RUN, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
