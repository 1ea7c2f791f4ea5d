#!/usr/bin/env bash
# A 1 GiB upload in parallel multipart parts through Sluice's HTTP API against a real S3
# server (Ceph RGW: `eval "$(../shared/tools/ceph-s3 start)"` first), completed,
# downloaded and checked byte-identical, with Sluice's RSS before and after.
#   bench/multipart.sh            SIZE=… PARALLEL=… ROUNDS=… (ROUNDS=10: 10 GiB, each upload deleted once checked)
#   BETWEEN_ROUNDS="radosgw-admin -c /tmp/sluice-ceph/ceph.conf gc process --include-all" (Ceph: free deleted data)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLUICE_TEST_S3_ENDPOINT:?start Ceph first: eval \"\$(../shared/tools/ceph-s3 start)\"}"
cargo build --release -q -p sluice
bin=target/release/sluice
data=$(mktemp -d)
port=${PORT:-18797}
bucket=sluice-bench-$(date +%s)
region=${SLUICE_TEST_S3_REGION:-us-east-1}
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
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
SLUICE_BENCH_TOKEN=$($bin token --sub bench --ttl 1h) SLUICE_API=http://127.0.0.1:$port \
  SLUICE_PID=$server python3 bench/multipart.py
