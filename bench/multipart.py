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
import sys
import time
import urllib.request

API = os.environ["SLUICE_API"]
TOKEN = os.environ["SLUICE_BENCH_TOKEN"]
PID = int(os.environ["SLUICE_PID"])
SIZE = int(os.environ.get("SIZE", str(1024 ** 3)))
PARALLEL = int(os.environ.get("PARALLEL", "8"))
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
        return json.load(response)


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


def main() -> None:
    print(f"generating {SIZE} bytes in {FILE} …", flush=True)
    expected = generate(FILE, SIZE)
    rss_before = rss_kib(PID)
    started = time.time()
    created = call("POST", "/v1/uploads", {
        "filename": "large.bin", "size": SIZE, "content_type": "application/octet-stream",
    })
    assert created["method"] == "multipart", created
    plan = created["multipart"]
    upload = created["id"]
    numbers = list(range(1, plan["part_count"] + 1))
    peak = rss_before
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
    link = call("POST", f"/v1/files/{call('POST', f'/v1/uploads/{upload}/commit')['id']}/download-url", {})
    digest = hashlib.sha256()
    with urllib.request.urlopen(link["url"]) as response:
        while chunk := response.read(1024 * 1024):
            digest.update(chunk)
    downloaded = time.time()
    rss_after = rss_kib(PID)
    os.remove(FILE)
    identical = digest.hexdigest() == expected
    print(f"parts           {plan['part_count']} x {plan['part_size']} bytes, {PARALLEL} in parallel")
    print(f"upload          {SIZE / (uploaded - started) / 2**20:.1f} MiB/s ({uploaded - started:.1f} s incl. complete)")
    print(f"download        {SIZE / (downloaded - uploaded) / 2**20:.1f} MiB/s")
    print(f"byte-identical  {identical} (sha256 {expected[:16]}…)")
    print(f"sluice RSS      before {rss_before} KiB, peak during upload {peak} KiB, after {rss_after} KiB "
          f"(growth {rss_after - rss_before} KiB)")
    sys.exit(0 if identical else 1)


if __name__ == "__main__":
    main()
