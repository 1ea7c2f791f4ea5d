#!/usr/bin/env bash
# Create latency while retention prunes (issue 16): seeds ROWS ended sessions, each with
# three audit events and one delivered webhook with two attempts, 40 days old, into a fresh
# PostgreSQL database; then `POST /v1/uploads` under wrk (CONNECTIONS, WINDOW per sample,
# OWNERS) against a release `sluice serve` on it twice: first with retention off (the
# baseline, same tables), then with the default retention, while its pass prunes every
# seeded row. Prints each window's throughput and p99, and how long the pass took.
# Bounded and loopback only.
#   bench/prune.sh        ROWS=1000000 CONNECTIONS=32 OWNERS=100 WINDOW=30s
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)" >&2; exit 2; }
ROWS=${ROWS:-1000000}
CONNECTIONS=${CONNECTIONS:-32}
OWNERS=${OWNERS:-100}
WINDOW=${WINDOW:-30s}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/}
cargo build --release -q -p sluice
bin=target/release/sluice
stamp=$(date +%s)
db=sluice_bench_prune_$stamp
data=$(mktemp -d)
port=${PORT:-18796}
server=0
cleanup() {
  # `kill 0` would signal this script's whole process group: only a started server.
  if [ "$server" -gt 0 ]; then kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; fi
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$data"
}
trap cleanup EXIT
base_env=(SLUICE__DATABASE__URL="$PG/$db" SLUICE__QUEUE__REDIS_URL="$REDIS" SLUICE__QUEUE__NAMESPACE="bench-prune-$stamp"
  SLUICE__DATABASE__MAX_CONNECTIONS=16 SLUICE__SERVER__DATA_DIR="$data/server" SLUICE__SERVER__BIND=127.0.0.1:$port
  SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:0 SLUICE_LOG=warn,sluice_core::retention=info)
q() { psql "$PG/$db" -AtqX -c "$1"; }

psql "$PG/postgres" -qc "CREATE DATABASE $db"
env "${base_env[@]}" $bin migrate > "$data/migrate.log" 2>&1
echo "== seeding $ROWS ended sessions with their trails (40 days old)"
t0=$(date +%s)
q "INSERT INTO upload_sessions (id, owner, profile, filename, size, content_type, metadata, key, method, state,
     version, one_time, expires_at, created_at, updated_at, size_exact, checksum_signed, checksum_verified,
     rewritable, held_bytes)
   SELECT gen_random_uuid(), 'old' || (g % 100), 'default', 'f.txt', 4, 'text/plain', '{}', 'old/' || g, 'put',
     'expired', 2, true, now() - interval '40 days', now() - interval '40 days', now() - interval '40 days',
     true, false, false, false, 0 FROM generate_series(1, $ROWS) g"
q "INSERT INTO audit_events (upload_id, at, from_state, to_state, actor, detail, kind)
   SELECT id, now() - interval '40 days', s, 'expired', 'system', '{}', 'transition'
   FROM upload_sessions, unnest(ARRAY['pending', 'pending', 'pending']) s"
q "INSERT INTO webhook_deliveries (message_id, endpoint, event_type, upload_id, payload, status, attempts,
     created_at, finished_at)
   SELECT 'msg_' || id, 'hook', 'upload.expired', id, '{}', 'delivered', 2, now() - interval '40 days',
     now() - interval '40 days' FROM upload_sessions"
q "INSERT INTO webhook_attempts (delivery_id, at, status, latency_ms)
   SELECT id, now() - interval '40 days', s, 5 FROM webhook_deliveries, unnest(ARRAY[500, 200]) s"
q "VACUUM ANALYZE" >/dev/null
echo "seeded in $(( $(date +%s) - t0 )) s: $(q "SELECT count(*) FROM upload_sessions") sessions, \
$(q "SELECT count(*) FROM audit_events") audit events, $(q "SELECT count(*) FROM webhook_attempts") attempts"

serve() {  # serve NAME [ENV…]
  env "${base_env[@]}" "${@:2}" $bin serve > "$data/$1.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  SLUICE_BENCH_TOKENS=$(for n in $(seq 1 "$OWNERS"); do env "${base_env[@]}" $bin token --sub "bench$n" --ttl 2h; done | paste -sd,)
  SLUICE_BENCH_TOKEN=${SLUICE_BENCH_TOKENS%%,*}
  export SLUICE_BENCH_TOKEN SLUICE_BENCH_TOKENS
}
stop() { kill -TERM $server; wait $server 2>/dev/null || true; server=0; }
window() {
  wrk -t2 -c"$CONNECTIONS" -d"$WINDOW" --latency -s bench/create.lua "http://127.0.0.1:$port/v1/uploads" \
    | grep -E 'Requests/sec|^ +99%|Non-2xx|Socket errors' | tr -s ' ' | paste -sd' '
}
seeded() { q "SELECT count(*) FROM upload_sessions WHERE owner LIKE 'old%'"; }

echo "== baseline: retention off, $CONNECTIONS connections, $OWNERS owners, $WINDOW"
serve baseline SLUICE__RETENTION__SESSIONS=0 SLUICE__RETENTION__AUDIT_EVENTS=0 SLUICE__RETENTION__WEBHOOK_DELIVERIES=0
window
stop
# The baseline server took the retention turn (a pass with nothing to do) and holds it
# for `retention.interval`: released, so the next server's first sweep starts a pass.
q "DELETE FROM leases WHERE name = 'retention'" >/dev/null

echo "== while the default retention prunes the seeded rows"
t0=$(date +%s)
serve pruning SLUICE__RETENTION__INTERVAL=1h
n=0
while [ "$(seeded)" -gt 0 ]; do
  n=$((n + 1))
  echo "window $n ($(( $(date +%s) - t0 )) s in, $(seeded) seeded sessions left): $(window)"
done
echo "pruned every seeded session $(( $(date +%s) - t0 )) s after the server started"
echo "== after pruning, the same server"
window
stop
grep -h "pruned" "$data/pruning.log" | tail -3 || true
echo "left: $(q "SELECT count(*) FROM audit_events WHERE at < now() - interval '30 days'") old audit events, \
$(q "SELECT count(*) FROM webhook_attempts WHERE at < now() - interval '30 days'") old attempts"
