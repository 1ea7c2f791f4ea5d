"""Uploads one large generated file through Sluice's HTTP API in parallel multipart parts
straight to the store, completes it, downloads it through a presigned link, checks it is
byte-identical, and prints the RSS of the Sluice process before and after. Sluice never
carries the bytes, so its RSS stays flat whatever the size.

Driven by bench/multipart.sh, which starts Sluice; stdlib only.
"""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request

API = os.environ["SLUICE_API"]
TOKEN = os.environ["SLUICE_BENCH_TOKEN"]
PID = int(os.environ["SLUICE_PID"])
SIZE = int(os.environ.get("SIZE", str(1024 ** 3)))
PARALLEL = int(os.environ.get("PARALLEL", "8"))
# Uploads of SIZE one after another, each deleted once checked: ROUNDS=10 moves 10 GiB.
ROUNDS = int(os.environ.get("ROUNDS", "1"))
# A shell command run after each round, e.g. Ceph's garbage collection, so that the
# in-memory test gateway does not fill up over a 10 GiB run.
BETWEEN_ROUNDS = os.environ.get("BETWEEN_ROUNDS", "")
FILE = os.environ.get("FILE", "/tmp/sluice-bench-1gib.bin")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def call(method: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{API}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as response:
        body = response.read()
        return json.loads(body) if body else None


def generate(path: str, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        written = 0
        while written < size:
            chunk = block[: min(len(block), size - written)]
            # Vary each MiB so a misplaced part cannot go unnoticed.
            chunk = written.to_bytes(8, "little") + chunk[8:]
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def put_part(part: dict, offset: int) -> int:
    with open(FILE, "rb") as source:
        source.seek(offset)
        body = source.read(part["size"])
    request = urllib.request.Request(part["url"], data=body, method="PUT")
    for name, value in part["headers"].items():
        request.add_header(name, value)
    with urllib.request.urlopen(request) as response:
        return response.status


def one_round() -> tuple:
    """Uploads FILE in parallel parts, completes, commits, downloads and checks it, then
    deletes the file (so a long run never fills the store); returns the figures."""
    started = time.time()
    created = call("POST", "/v1/uploads", {
        "filename": "large.bin", "size": SIZE, "content_type": "application/octet-stream",
    })
    assert created["method"] == "multipart", created
    plan = created["multipart"]
    upload = created["id"]
    numbers = list(range(1, plan["part_count"] + 1))
    peak = 0
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        for start in range(0, len(numbers), 1000):
            batch = numbers[start:start + 1000]
            signed = call("POST", f"/v1/uploads/{upload}/parts", {"part_numbers": batch})["parts"]
            futures = [
                pool.submit(put_part, part, (part["part_number"] - 1) * plan["part_size"])
                for part in signed
            ]
            for done in concurrent.futures.as_completed(futures):
                assert done.result() == 200
                peak = max(peak, rss_kib(PID))
    session = call("POST", f"/v1/uploads/{upload}/complete", {})
    assert session["state"] == "uploaded", session
    uploaded = time.time()
    file_id = call("POST", f"/v1/uploads/{upload}/commit")["id"]
    link = call("POST", f"/v1/files/{file_id}/download-url", {})
    digest = hashlib.sha256()
    with urllib.request.urlopen(link["url"]) as response:
        while chunk := response.read(1024 * 1024):
            digest.update(chunk)
    downloaded = time.time()
    call("DELETE", f"/v1/files/{file_id}")
    return plan, started, uploaded, downloaded, digest.hexdigest(), peak


def main() -> None:
    print(f"generating {SIZE} bytes in {FILE} …", flush=True)
    expected = generate(FILE, SIZE)
    rss_before = rss_kib(PID)
    peak = rss_before
    identical = True
    for n in range(1, ROUNDS + 1):
        plan, started, uploaded, downloaded, digest, round_peak = one_round()
        peak = max(peak, round_peak)
        identical = identical and digest == expected
        if n == 1:
            print(f"parts           {plan['part_count']} x {plan['part_size']} bytes, {PARALLEL} in parallel")
        print(f"round {n:<3}       upload {SIZE / (uploaded - started) / 2**20:.1f} MiB/s "
              f"({uploaded - started:.1f} s incl. complete), download {SIZE / (downloaded - uploaded) / 2**20:.1f} MiB/s, "
              f"byte-identical {digest == expected}, RSS {rss_kib(PID)} KiB", flush=True)
        if BETWEEN_ROUNDS:
            # The store's own housekeeping (Ceph keeps deleted data for its GC for 2 h).
            subprocess.run(BETWEEN_ROUNDS, shell=True, check=True, capture_output=True)
    rss_after = rss_kib(PID)
    os.remove(FILE)
    print(f"flowed          {ROUNDS * SIZE / 2**30:.1f} GiB up and as much down")
    print(f"byte-identical  {identical} (sha256 {expected[:16]}…)")
    print(f"sluice RSS      before {rss_before} KiB, peak during uploads {peak} KiB, after {rss_after} KiB "
          f"(growth {rss_after - rss_before} KiB)")


if __name__ == "__main__":
    main()
