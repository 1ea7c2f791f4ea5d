"""Measures what one upload's whole life costs, for docs/CAPACITY.md: the statements, rows
and WAL bytes it writes on PostgreSQL (pg_stat_statements, pg_stat_wal), the Redis
commands (INFO commandstats), the store requests Sluice sends (its `sluice_store_operations_total`
metric) and the ones the client sends on presigned URLs, and the bytes each table grows by.

Two lives are measured, each on its own: a single PUT (create, PUT, complete, verify,
commit, download link and GET, delete, cleanup) and a multipart upload (create, part URLs,
PUT of each part, complete, verify, commit). A phase ends when no job is left and no
cleanup is owed, so what the workers do for the uploads is counted too.

Driven by bench/capacity.sh, which starts Sluice on PostgreSQL + Redis + Ceph; stdlib only.
"""
import concurrent.futures
import http.client
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse

API = os.environ["SLUICE_API"]
SERVICE_KEY = os.environ["SLUICE_SERVICE_KEY"]
DB = os.environ["BENCH_DB_URL"]
REDIS = ["redis-cli", "-h", "127.0.0.1", "-p", os.environ.get("REDIS_PORT", "6379")]
PUTS = int(os.environ.get("PUTS", "200"))
MULTIPARTS = int(os.environ.get("MULTIPARTS", "40"))
PARALLEL = int(os.environ.get("PARALLEL", "8"))
MIB = 1024 * 1024
TABLES = ["upload_sessions", "files", "audit_events", "outbox_jobs", "webhook_deliveries",
          "webhook_attempts", "quota_usage", "leases"]


def psql(sql):
    out = subprocess.run(["psql", DB, "-Atqc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def call(method, path, owner, body=None):
    u = urllib.parse.urlsplit(API)
    headers = {"authorization": f"Bearer {SERVICE_KEY}", "x-sluice-owner": owner}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    text = r.read()
    return r.status, (json.loads(text) if text else None), r.getheader("location")


def store(method, url, headers, body):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request(method, f"{u.path}?{u.query}", body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.read()


def put_headers(signed, length):
    h = {k: v for k, v in signed.items() if k.lower() != "content-length"}
    h["content-length"] = str(length)
    return h


def must(cond, what):
    if not cond:
        raise RuntimeError(what)


def complete(owner, sid):
    for _ in range(120):
        status, body, _ = call("POST", f"/v1/uploads/{sid}/complete", owner)
        state = body.get("session", body).get("state") if isinstance(body, dict) else None
        if status == 200 and state == "uploaded":
            return
        must(status in (200, 202), f"complete answered {status}: {body}")
        time.sleep(0.2)
    raise RuntimeError(f"{sid} never verified")


def single_put_life(n):
    owner = f"owner{n % 50}"
    data = random.randbytes(random.randint(1, 64 * 1024))
    status, up, _ = call("POST", "/v1/uploads", owner, {
        "profile": "default", "filename": f"f{n}.bin", "size": len(data),
        "content_type": "application/octet-stream"})
    must(status == 201, f"create answered {status}: {up}")
    status, _ = store("PUT", up["put"]["url"], put_headers(up["put"]["headers"], len(data)), data)
    must(status == 200, f"PUT answered {status}")
    complete(owner, up["id"])
    status, file, _ = call("POST", f"/v1/uploads/{up['id']}/commit", owner)
    must(status in (200, 201), f"commit answered {status}: {file}")
    status, _, location = call("GET", f"/v1/files/{file['id']}/download", owner)
    must(status == 302, f"download answered {status}")
    status, got = store("GET", location, {}, None)
    must(status == 200 and got == data, f"download GET answered {status}")
    status, _, _ = call("DELETE", f"/v1/files/{file['id']}", owner)
    must(status in (200, 204), f"delete answered {status}")
    return 2  # client requests on presigned URLs: the PUT and the GET


def multipart_life(n):
    owner = f"owner{n % 50}"
    data = random.randbytes(5 * MIB + random.randint(1, MIB))
    status, up, _ = call("POST", "/v1/uploads", owner, {
        "profile": "parts", "filename": f"m{n}.bin", "size": len(data),
        "content_type": "application/octet-stream"})
    must(status == 201, f"create answered {status}: {up}")
    part_size = up["multipart"]["part_size"]
    numbers = list(range(1, up["multipart"]["part_count"] + 1))
    status, parts, _ = call("POST", f"/v1/uploads/{up['id']}/parts", owner, {"part_numbers": numbers})
    must(status == 200, f"parts answered {status}: {parts}")
    for part in parts["parts"]:
        k = part["part_number"]
        chunk = data[(k - 1) * part_size: k * part_size]
        status, _ = store("PUT", part["url"], put_headers(part.get("headers", {}), len(chunk)), chunk)
        must(status == 200, f"part PUT answered {status}")
    complete(owner, up["id"])
    status, file, _ = call("POST", f"/v1/uploads/{up['id']}/commit", owner)
    must(status in (200, 201), f"commit answered {status}: {file}")
    return len(parts["parts"])


def store_ops():
    u = urllib.parse.urlsplit(API)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", "/metrics", headers={"authorization": f"Bearer {SERVICE_KEY}"})
    ops = {}
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith("sluice_store_operations_total{"):
            labels, value = line.rsplit(" ", 1)
            ops[labels[len("sluice_store_operations_total"):]] = float(value)
    return ops


def redis_stats():
    out = subprocess.run(REDIS + ["INFO", "commandstats"], check=True, capture_output=True, text=True)
    stats = {}
    for line in out.stdout.splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[len("cmdstat_"):].split(":", 1)
            stats[name] = int(dict(kv.split("=") for kv in rest.split(","))["calls"])
    return stats


def settle():
    """Until no job is left and no cleanup is owed: the workers' share is counted too."""
    for _ in range(600):
        left = psql("SELECT (SELECT count(*) FROM outbox_jobs) + "
                    "(SELECT count(*) FROM upload_sessions WHERE cleanup_due_at IS NOT NULL)")
        if left == "0":
            return
        time.sleep(0.5)
    raise RuntimeError("jobs never drained")


def sizes():
    return {t: int(psql(f"SELECT pg_total_relation_size('{t}')")) for t in TABLES}


def rows():
    return {t: int(psql(f"SELECT count(*) FROM {t}")) for t in TABLES}


def measure(name, life, count):
    settle()
    psql("SELECT pg_stat_statements_reset()")
    wal0 = psql("SELECT wal_records || ' ' || wal_bytes FROM pg_stat_wal").split()
    subprocess.run(REDIS + ["CONFIG", "RESETSTAT"], check=True, capture_output=True)
    ops0, sizes0, rows0 = store_ops(), sizes(), rows()
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        client = sum(pool.map(life, range(count)))
    settle()
    elapsed = time.time() - started
    wal1 = psql("SELECT wal_records || ' ' || wal_bytes FROM pg_stat_wal").split()
    redis = redis_stats()
    ops1, sizes1, rows1 = store_ops(), sizes(), rows()
    dbid = psql("SELECT oid FROM pg_database WHERE datname = current_database()")
    statements = psql(
        "SELECT json_agg(s) FROM (SELECT calls, rows, wal_bytes, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements "
        f"WHERE dbid = {dbid} AND query !~* 'pg_stat|pg_total_relation_size|pg_database|count\\(\\*\\)' "
        "ORDER BY calls DESC) s")
    statements = json.loads(statements or "[]")
    per = lambda x: x / count
    print(f"\n## {name}: {count} uploads in {elapsed:.1f} s (parallel {PARALLEL})\n")
    total_calls = sum(s["calls"] for s in statements)
    writes = [s for s in statements if s["query"].split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "WITH")]
    print(f"- PostgreSQL statements per upload: {per(total_calls):.1f} "
          f"({per(sum(s['calls'] for s in writes)):.1f} writes), "
          f"rows written per upload: {per(sum(s['rows'] for s in writes)):.1f}")
    print(f"- WAL per upload: {per(int(wal1[1]) - int(wal0[1])):.0f} bytes, "
          f"{per(int(wal1[0]) - int(wal0[0])):.1f} records")
    print(f"- Redis commands per upload: {per(sum(redis.values())):.1f} "
          f"({', '.join(f'{k} {per(v):.1f}' for k, v in sorted(redis.items(), key=lambda kv: -kv[1]) if per(v) >= 0.05)})")
    sluice_ops = {k: ops1.get(k, 0) - ops0.get(k, 0) for k in ops1}
    sluice_ops = {k: v for k, v in sluice_ops.items() if v}
    print(f"- store requests per upload: Sluice {per(sum(sluice_ops.values())):.2f} "
          f"({', '.join(f'{k} {per(v):.2f}' for k, v in sorted(sluice_ops.items()))}), "
          f"client {per(client):.2f}")
    print("- table growth per upload (bytes, rows): " + ", ".join(
        f"{t} {per(sizes1[t] - sizes0[t]):.0f} B / {per(rows1[t] - rows0[t]):.2f}"
        for t in TABLES if sizes1[t] != sizes0[t] or rows1[t] != rows0[t]))
    print("\n| calls/upload | rows/upload | WAL B/upload | statement |\n|---:|---:|---:|---|")
    for s in statements:
        if per(s["calls"]) >= 0.01:
            q = s["query"].replace("|", "\\|")
            print(f"| {per(s['calls']):.2f} | {per(s['rows']):.2f} | {per(int(s['wal_bytes'])):.0f} | `{q}` |")


if __name__ == "__main__":
    random.seed(7)
    measure("single PUT, whole life (create to cleanup after delete)", single_put_life, PUTS)
    measure("multipart (2 parts), create to commit", multipart_life, MULTIPARTS)
    sys.stdout.flush()
