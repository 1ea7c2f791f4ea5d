#!/usr/bin/env bash
# What one upload's whole life costs on PostgreSQL + Redis + Ceph (docs/CAPACITY.md):
# starts a release `sluice serve` on a fresh database, bucket and queue namespace and
# runs bench/capacity.py against it. Needs pg_stat_statements preloaded:
#   ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; then restart PostgreSQL.
#   eval "$(../shared/tools/ceph-s3 start)"; bench/capacity.sh      PUTS=… MULTIPARTS=…
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLUICE_TEST_S3_ENDPOINT:?start Ceph first: eval \"\$(../shared/tools/ceph-s3 start)\"}"
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/}
region=${SLUICE_TEST_S3_REGION:-us-east-1}
psql "$PG/postgres" -Atc "SHOW shared_preload_libraries" | grep -q pg_stat_statements || {
  echo "capacity: pg_stat_statements is not preloaded (see the header of $0)" >&2; exit 1; }
stamp=$(date +%s)
db=sluice_bench_capacity_$stamp
bucket=sluice-bench-capacity-$stamp
cargo build --release -q -p sluice
bin=target/release/sluice
data=$(mktemp -d)
port=${PORT:-18795}
server=0
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$data"' EXIT
python3 bench/lib/s3bucket.py "$SLUICE_TEST_S3_ENDPOINT" "$region" \
  "$SLUICE_TEST_S3_ACCESS_KEY_ID" "$SLUICE_TEST_S3_SECRET_ACCESS_KEY" "$bucket"
service_key=bench-capacity-service-key-0123456789
export SLUICE__SERVER__DATA_DIR=$data SLUICE__SERVER__BIND=127.0.0.1:$port
export SLUICE__DATABASE__URL=$PG/$db SLUICE__QUEUE__REDIS_URL=$REDIS SLUICE__QUEUE__NAMESPACE=bench-capacity-$stamp
export SLUICE__STORAGE__ENDPOINT=$SLUICE_TEST_S3_ENDPOINT SLUICE__STORAGE__BUCKET=$bucket
export SLUICE__STORAGE__REGION=$region SLUICE__STORAGE__FORCE_PATH_STYLE=true
export SLUICE__STORAGE__ACCESS_KEY_ID=$SLUICE_TEST_S3_ACCESS_KEY_ID
export SLUICE__STORAGE__SECRET_ACCESS_KEY=$SLUICE_TEST_S3_SECRET_ACCESS_KEY
export SLUICE__AUTH__SERVICE_KEYS="[\"$service_key\"]"
# Short URL lifetimes, so a deleted file's late cleanup round falls inside the run.
export SLUICE__PROFILES__DEFAULT__UPLOAD_TTL=20s SLUICE__CLEANUP__LATE_PUT_GRACE=1s
export SLUICE__PROFILES__PARTS__UPLOAD_TTL=60s
export SLUICE__PROFILES__PARTS__MULTIPART_THRESHOLD=1MiB SLUICE__PROFILES__PARTS__PART_SIZE=5MiB
export SLUICE_LOG=${SLUICE_LOG:-warn}
psql "$PG/postgres" -qc "CREATE DATABASE $db"
psql "$PG/$db" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
$bin migrate
$bin serve > "$data/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
SLUICE_API=http://127.0.0.1:$port SLUICE_SERVICE_KEY=$service_key BENCH_DB_URL=$PG/$db \
  python3 bench/capacity.py
grep -ciE "error|panic" "$data/serve.log" | sed 's/^/log lines with error or panic: /' || true
