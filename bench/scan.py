"""Driven by bench/scan.sh: uploads one generated file (multipart) to the `scanned` and
the `rehashed` profile, times `complete` → `uploaded` (the worker's read), samples the
Sluice process's RSS meanwhile, and times clamdscan of the same file; stdlib only."""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from multipart import API, FILE, PID, SIZE, call, generate, put_part, rss_kib  # noqa: E402

MIB = 1024 * 1024


def upload(profile: str, sha256: str | None) -> str:
    body = {"profile": profile, "filename": "scan.bin", "size": SIZE,
            "content_type": "application/octet-stream"}
    if sha256:
        body["sha256"] = sha256
    created = call("POST", "/v1/uploads", body)
    plan = created["multipart"]
    upload_id = created["id"]
    numbers = list(range(1, plan["part_count"] + 1))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        signed = call("POST", f"/v1/uploads/{upload_id}/parts", {"part_numbers": numbers})["parts"]
        for done in concurrent.futures.as_completed(
            [pool.submit(put_part, p, (p["part_number"] - 1) * plan["part_size"]) for p in signed]
        ):
            assert done.result() == 200
    return upload_id


def read_back(profile: str, sha256: str | None) -> None:
    upload_id = upload(profile, sha256)
    rss = [rss_kib(PID)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            rss.append(rss_kib(PID))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.time()
    session = call("POST", f"/v1/uploads/{upload_id}/complete", {})
    assert session["state"] == "scanning", session
    while session["state"] == "scanning":
        time.sleep(0.05)
        session = call("GET", f"/v1/uploads/{upload_id}")
    took = time.time() - started
    stop.set()
    sampler.join()
    assert session["state"] == "uploaded", session
    print(f"{profile}: complete -> uploaded in {took:.2f} s = {SIZE / MIB / took:.0f} MiB/s "
          f"(scan={session.get('scan')}, checksum_verified={session['checksum_verified']}); "
          f"Sluice RSS {rss[0]} KiB before, peak {max(rss)} KiB (+{(max(rss) - rss[0]) / 1024:.1f} MiB)",
          flush=True)
    call("POST", f"/v1/uploads/{upload_id}/abort")


def clamdscan(*flags: str) -> None:
    started = time.time()
    out = subprocess.run(["clamdscan", "-c", os.environ["CLAMD_CONF"], "--no-summary", *flags, FILE],
                         capture_output=True, text=True)
    took = time.time() - started
    print(f"clamdscan {' '.join(flags) or '(clamd reads the file)'}: {took:.2f} s = "
          f"{SIZE / MIB / took:.0f} MiB/s ({out.stdout.strip()})", flush=True)


def main() -> None:
    print(f"generating {SIZE} bytes in {FILE} …", flush=True)
    digest = generate(FILE, SIZE)
    for _ in range(int(os.environ.get("SCAN_ROUNDS", "1"))):
        clamdscan()
        clamdscan("--stream")
        read_back("scanned", None)
        read_back("rehashed", digest)
    os.remove(FILE)


if __name__ == "__main__":
    main()
