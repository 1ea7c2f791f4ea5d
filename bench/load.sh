#!/usr/bin/env bash
# Load test of a release build of `sluice serve` on loopback with wrk (Debian package).
# Embedded mode by default; pass SLUICE__… variables to point it at PostgreSQL / Redis / S3.
# Bounded: each run lasts DURATION (default 15s) and the server is stopped at the end.
#   bench/load.sh            # prints wrk's summary for each endpoint
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)" >&2; exit 2; }
cargo build --release -q -p sluice
bin=target/release/sluice
data=$(mktemp -d)
port=${PORT:-18787}
export SLUICE__SERVER__DATA_DIR=$data SLUICE__SERVER__BIND=127.0.0.1:$port
export SLUICE__STORAGE__EMBEDDED_BIND=${SLUICE__STORAGE__EMBEDDED_BIND:-127.0.0.1:18788}
export SLUICE_LOG=${SLUICE_LOG:-warn}
$bin serve > "$data/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
export SLUICE_BENCH_TOKEN=$($bin token --sub bench --ttl 1h)
base=http://127.0.0.1:$port

echo "== GET /healthz (baseline: routing only)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$base/healthz" | sed -n '1,/Requests\/sec/p'
echo "== POST /v1/uploads (auth, validation, presign, insert + audit + outbox in one transaction)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/create.lua "$base/v1/uploads" | sed -n '1,/Requests\/sec/p'
id=$(curl -fs -X POST "$base/v1/uploads" -H "Authorization: Bearer $SLUICE_BENCH_TOKEN" -H 'Content-Type: application/json' \
  -d '{"filename":"a.bin","size":1,"content_type":"application/octet-stream"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "== GET /v1/uploads/{id} (auth and one lookup)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/get.lua "$base/v1/uploads/$id" | sed -n '1,/Requests\/sec/p'
