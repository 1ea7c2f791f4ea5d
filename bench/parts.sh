#!/usr/bin/env bash
# Part signing at 64 connections, three ways in the same run against the same store:
# Sluice's `POST /v1/uploads/{id}/parts`, Sluice's Companion-compatible
# `GET /s3/multipart/{uploadId}/{n}?key=`, and Uppy Companion's own route of that name
# (npm @uppy/companion, bench/companion, bound to 127.0.0.1). Bounded: DURATION each.
#   eval "$(../shared/tools/ceph-s3 start)"; bench/parts.sh
# SLUICE__DATABASE__URL=postgres://… puts Sluice's sessions in PostgreSQL (default SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLUICE_TEST_S3_ENDPOINT:?start Ceph first: eval \"\$(../shared/tools/ceph-s3 start)\"}"
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)" >&2; exit 2; }
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
cargo build --release -q -p sluice
[ -d bench/companion/node_modules/@uppy/companion ] || (cd bench/companion && npm ci --no-audit --no-fund)
bin=target/release/sluice
data=$(mktemp -d)
port=${PORT:-18796}
cport=${COMPANION_PORT:-18799}
region=${SLUICE_TEST_S3_REGION:-us-east-1}
bucket=sluice-bench-parts-$(date +%s)
python3 bench/lib/s3bucket.py "$SLUICE_TEST_S3_ENDPOINT" "$region" \
  "$SLUICE_TEST_S3_ACCESS_KEY_ID" "$SLUICE_TEST_S3_SECRET_ACCESS_KEY" "$bucket"
export SLUICE__SERVER__DATA_DIR=$data SLUICE__SERVER__BIND=127.0.0.1:$port
export SLUICE__STORAGE__ENDPOINT=$SLUICE_TEST_S3_ENDPOINT SLUICE__STORAGE__BUCKET=$bucket
export SLUICE__STORAGE__REGION=$region SLUICE__STORAGE__FORCE_PATH_STYLE=true
export SLUICE__STORAGE__ACCESS_KEY_ID=$SLUICE_TEST_S3_ACCESS_KEY_ID
export SLUICE__STORAGE__SECRET_ACCESS_KEY=$SLUICE_TEST_S3_SECRET_ACCESS_KEY
export SLUICE_LOG=${SLUICE_LOG:-warn}
$bin serve > "$data/serve.log" 2>&1 &
server=$!
AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED BENCH_BUCKET=$bucket PORT=$cport \
  node bench/companion/server.mjs > "$data/companion.log" 2>&1 &
companion=$!
trap 'kill -TERM $server $companion 2>/dev/null; wait $server $companion 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$cport/" && break; sleep 0.1; done
export SLUICE_BENCH_TOKEN=$($bin token --sub bench --ttl 1h)
base=http://127.0.0.1:$port
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# A 100 MiB multipart session in Sluice (10 parts of 10 MiB; every URL signs its length).
id=$(curl -fs -X POST "$base/v1/uploads" -H "Authorization: Bearer $SLUICE_BENCH_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"filename":"big.bin","size":104857600,"content_type":"application/octet-stream"}' | json '["id"]')
# The same through Sluice's Companion-compatible route, declaring the size in metadata.
uppy=$(curl -fs -X POST "$base/s3/multipart" -H "Authorization: Bearer $SLUICE_BENCH_TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"filename":"big.bin","type":"application/octet-stream","metadata":{"size":104857600}}')
uppy_id=$(echo "$uppy" | json '["uploadId"]'); uppy_key=$(echo "$uppy" | json '["key"]')
# And in Companion.
comp=$(curl -fs -X POST "http://127.0.0.1:$cport/s3/multipart" -H 'Content-Type: application/json' \
  -d '{"filename":"big.bin","type":"application/octet-stream","metadata":{}}')
comp_id=$(echo "$comp" | json '["uploadId"]'); comp_key=$(echo "$comp" | json '["key"]')

run() {
  echo "== $1"
  shift
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
}
run "Sluice POST /v1/uploads/{id}/parts" -s bench/parts.lua "$base/v1/uploads/$id/parts"
run "Sluice GET /s3/multipart/{uploadId}/3 (Companion-compatible)" \
  -H "Authorization: Bearer $SLUICE_BENCH_TOKEN" "$base/s3/multipart/$uppy_id/3?key=$uppy_key"
run "Uppy Companion $(node -p "require('./bench/companion/node_modules/@uppy/companion/package.json').version") GET /s3/multipart/{uploadId}/3" \
  "http://127.0.0.1:$cport/s3/multipart/$comp_id/3?key=$comp_key"
