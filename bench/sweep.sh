#!/usr/bin/env bash
# One sweep over 100,000 overdue sessions on PostgreSQL: seeds them straight into a fresh
# database (pending, past their deadline and their URLs' lifetime plus grace), PUTs an
# object under the keys of OBJECTS of them in a fresh Ceph bucket, starts a release
# `sluice serve` (PostgreSQL + Redis + the store), and times how long until no session is
# live, then until no cleanup is owed and no job is left, and counts the bucket.
#   eval "$(../shared/tools/ceph-s3 start)"; bench/sweep.sh      ROWS=… OBJECTS=…
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLUICE_TEST_S3_ENDPOINT:?start Ceph first: eval \"\$(../shared/tools/ceph-s3 start)\"}"
ROWS=${ROWS:-100000}
OBJECTS=${OBJECTS:-2000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/}
region=${SLUICE_TEST_S3_REGION:-us-east-1}
stamp=$(date +%s)
db=sluice_bench_sweep_$stamp
bucket=sluice-bench-sweep-$stamp
cargo build --release -q -p sluice
bin=target/release/sluice
data=$(mktemp -d)
port=${PORT:-18794}
server=0
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$data"' EXIT
s3=(python3 bench/lib/s3seed.py "$SLUICE_TEST_S3_ENDPOINT" "$region" "$SLUICE_TEST_S3_ACCESS_KEY_ID" "$SLUICE_TEST_S3_SECRET_ACCESS_KEY" "$bucket")
python3 bench/lib/s3bucket.py "$SLUICE_TEST_S3_ENDPOINT" "$region" \
  "$SLUICE_TEST_S3_ACCESS_KEY_ID" "$SLUICE_TEST_S3_SECRET_ACCESS_KEY" "$bucket"
export SLUICE__SERVER__DATA_DIR=$data SLUICE__SERVER__BIND=127.0.0.1:$port
export SLUICE__DATABASE__URL=$PG/$db SLUICE__QUEUE__REDIS_URL=$REDIS SLUICE__QUEUE__NAMESPACE=bench-sweep-$stamp
export SLUICE__STORAGE__ENDPOINT=$SLUICE_TEST_S3_ENDPOINT SLUICE__STORAGE__BUCKET=$bucket
export SLUICE__STORAGE__REGION=$region SLUICE__STORAGE__FORCE_PATH_STYLE=true
export SLUICE__STORAGE__ACCESS_KEY_ID=$SLUICE_TEST_S3_ACCESS_KEY_ID
export SLUICE__STORAGE__SECRET_ACCESS_KEY=$SLUICE_TEST_S3_SECRET_ACCESS_KEY
export SLUICE_LOG=${SLUICE_LOG:-warn}
psql "$PG/postgres" -qc "CREATE DATABASE $db"
$bin migrate
psql "$PG/$db" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO upload_sessions (id, owner, profile, filename, size, content_type, metadata, key, method,
  state, version, one_time, expires_at, created_at, updated_at, upload_deadline, urls_valid_until)
SELECT u, 'owner' || (n % 1000), 'default', 'file-' || n || '.bin', 1, 'application/octet-stream', '{}'::json,
       'uploads/owner' || (n % 1000) || '/' || u, 'put', 'pending', 0, true,
       now() - interval '3 hours', now() - interval '4 hours', now() - interval '4 hours',
       now() - interval '3 hours', now() - interval '3 hours'
FROM (SELECT n, gen_random_uuid() AS u FROM generate_series(1, $ROWS) AS n) AS g;
ANALYZE upload_sessions;
SQL
psql "$PG/$db" -Atc "SELECT key FROM upload_sessions ORDER BY random() LIMIT $OBJECTS" | "${s3[@]}" put >/dev/null
echo "seeded $ROWS overdue sessions, $("${s3[@]}" count) objects (of $OBJECTS) in the bucket"
count() { psql "$PG/$db" -Atc "$1"; }
started=$(date +%s.%N)
$bin serve > "$data/serve.log" 2>&1 &
server=$!
expired_at=""
for _ in $(seq 1 1200); do
  live=$(count "SELECT count(*) FROM upload_sessions WHERE state = 'pending'")
  if [ -z "$expired_at" ] && [ "$live" = 0 ]; then
    expired_at=$(date +%s.%N)
    printf 'every session expired after %.1f s\n' "$(echo "$expired_at - $started" | bc)"
  fi
  owed=$(count "SELECT count(*) FROM upload_sessions WHERE cleanup_due_at IS NOT NULL")
  jobs=$(count "SELECT count(*) FROM outbox_jobs")
  if [ -n "$expired_at" ] && [ "$owed" = 0 ] && [ "$jobs" = 0 ]; then
    printf 'every cleanup done, no job left, after %.1f s\n' "$(echo "$(date +%s.%N) - $started" | bc)"
    break
  fi
  sleep 0.5
done
echo "bucket holds $("${s3[@]}" count) objects; $(count "SELECT count(*) FROM upload_sessions WHERE state = 'expired'") sessions expired"
grep -ciE "error|panic" "$data/serve.log" | sed 's/^/log lines with error or panic: /'
