#!/usr/bin/env bash
# Admin queries against one million sessions in PostgreSQL: seeds a fresh database (a
# month of uploads by 1,000 owners over 4 profiles, every state), starts a release
# `sluice serve` on it, and prints p50/p95 of each admin query through the HTTP API.
#   bench/admin.sh            ROWS=… to seed another number of sessions
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
db=sluice_bench_admin_$(date +%s)
cargo build --release -q -p sluice
bin=target/release/sluice
data=$(mktemp -d)
port=${PORT:-18798}
psql "$PG/postgres" -qc "CREATE DATABASE $db"
trap 'kill -TERM ${server:-0} 2>/dev/null; wait ${server:-0} 2>/dev/null; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$data"' EXIT
export SLUICE__SERVER__DATA_DIR=$data SLUICE__SERVER__BIND=127.0.0.1:$port
export SLUICE__DATABASE__URL=$PG/$db SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:0
export SLUICE__AUTH__ADMIN_KEYS='["bench-admin-key-0123456789"]'
export SLUICE__PROFILES__AVATAR__MAX_SIZE=5MiB SLUICE__PROFILES__VIDEO__MAX_SIZE=5GiB
export SLUICE__PROFILES__DOCS__MAX_SIZE=100MiB
export SLUICE_LOG=${SLUICE_LOG:-warn}
$bin migrate
echo "seeding $ROWS sessions …"
started=$(date +%s)
psql "$PG/$db" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO upload_sessions (id, owner, profile, filename, size, content_type, metadata, key, method,
  state, version, one_time, expires_at, created_at, updated_at, upload_deadline, urls_valid_until)
SELECT gen_random_uuid(),
       'owner' || (n % 1000),
       (ARRAY['default','avatar','video','docs'])[1 + n % 4],
       'file-' || n || '.bin',
       (n::bigint * 7919) % 50000000,
       'application/octet-stream', '{}'::json,
       'uploads/owner' || (n % 1000) || '/' || n,
       'put',
       (ARRAY['pending','verifying','uploaded','committed','committed','committed','rejected','aborted','expired','deleted'])[1 + n % 10],
       1, true,
       now() + interval '1 hour',
       now() - (n % 2592000) * interval '1 second',
       now() - (n % 2592000) * interval '1 second',
       now() + interval '1 hour', now() + interval '1 hour'
FROM generate_series(1, $ROWS) AS n;
ANALYZE upload_sessions;
SQL
echo "seeded in $(( $(date +%s) - started )) s"
$bin serve > "$data/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
SLUICE_API=http://127.0.0.1:$port SLUICE_ADMIN_KEY=bench-admin-key-0123456789 python3 bench/admin.py
