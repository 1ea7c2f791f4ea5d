"""Times each admin query through the HTTP API (sequential requests, so each figure is
one request's latency) and prints p50 / p95 in milliseconds. Driven by bench/admin.sh."""
import json
import os
import random
import statistics
import time
import urllib.request

API = os.environ["SLUICE_API"]
KEY = os.environ["SLUICE_ADMIN_KEY"]
RUNS = int(os.environ.get("RUNS", "200"))


def get(path: str):
    request = urllib.request.Request(f"{API}{path}")
    request.add_header("Authorization", f"Bearer {KEY}")
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        body = json.load(response)
    return (time.perf_counter() - started) * 1000, body


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(name, paths, runs=RUNS):
    get(paths(0))  # warm the plan cache
    times = [get(paths(i))[0] for i in range(runs)]
    print(f"{name:<44} p50 {statistics.median(times):7.2f} ms   p95 {percentile(times, 95):7.2f} ms")


def main():
    random.seed(7)
    first = get("/v1/admin/uploads?limit=50")[1]
    cursor = first["next_cursor"]
    some_id = first["items"][0]["id"]
    deep = cursor
    for _ in range(20):
        deep = get(f"/v1/admin/uploads?limit=50&cursor={deep}")[1]["next_cursor"]
    print(f"admin queries over the seeded sessions, {RUNS} sequential requests each")
    run("list, newest first", lambda i: "/v1/admin/uploads?limit=50")
    run("list, page 2 (cursor)", lambda i: f"/v1/admin/uploads?limit=50&cursor={cursor}")
    run("list, page 22 (cursor)", lambda i: f"/v1/admin/uploads?limit=50&cursor={deep}")
    run("list, state=pending", lambda i: "/v1/admin/uploads?state=pending&limit=50")
    run("list, state=rejected,expired", lambda i: "/v1/admin/uploads?state=rejected,expired&limit=50")
    run("list, owner=ownerN", lambda i: f"/v1/admin/uploads?owner=owner{random.randrange(1000)}&limit=50")
    run("list, profile=video&state=committed", lambda i: "/v1/admin/uploads?profile=video&state=committed&limit=50")
    run("list, owner + created range", lambda i: f"/v1/admin/uploads?owner=owner{random.randrange(1000)}"
        "&created_after=2000-01-01T00:00:00Z&created_before=2100-01-01T00:00:00Z&limit=50")
    run("list, key (exact)", lambda i: f"/v1/admin/uploads?key=uploads/owner{i % 1000}/{i + 1000}")
    run("list, cleanup_owed=true", lambda i: "/v1/admin/uploads?cleanup_owed=true&limit=50")
    run("get one session with its trail", lambda i: f"/v1/admin/uploads/{some_id}")
    run("stats, 30 days (rollup)", lambda i: "/v1/admin/stats?days=30")
    run("stats, 30 days, fresh=true (live)", lambda i: "/v1/admin/stats?days=30&fresh=true", runs=max(5, RUNS // 20))


if __name__ == "__main__":
    main()
