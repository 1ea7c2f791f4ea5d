#!/usr/bin/env bash
# Create-upload throughput: `POST /v1/uploads` (wrk, CONNECTIONS, DURATION) on SQLite, then
# on PostgreSQL (+ Redis) beside pgbench committing the same seven-statement transaction
# (bench/create.sql) against the same database in the same run. Bounded and loopback only.
#   bench/create.sh        OWNERS=100 PG=postgres://postgres@127.0.0.1:5432 REDIS=redis://127.0.0.1:6379/
#   SQL=bench/create-lean.sql: pgbench runs the lean transaction (no quota rows) instead.
#   SERVE_ENV="SLUICE__QUOTA__DAILY_UPLOADS=1000000000 …": extra settings for the PostgreSQL
#   server (limits, so that creates keep counter rows). SKIP_SQLITE=1 skips the SQLite run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)" >&2; exit 2; }
command -v pgbench >/dev/null || { echo "bench: pgbench comes with postgresql-contrib" >&2; exit 2; }
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
OWNERS=${OWNERS:-1}    # owners the requests are spread over (1: one user's quota rows, hot)
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/}
SQL=${SQL:-bench/create.sql}
read -r -a serve_env <<< "${SERVE_ENV:-}"
cargo build --release -q -p sluice
bin=target/release/sluice
stamp=$(date +%s)
db=sluice_bench_create_$stamp
data=$(mktemp -d)
port=${PORT:-18795}
server=0
cleanup() {
  # `kill 0` would signal this script's whole process group: only a started server.
  if [ "$server" -gt 0 ]; then kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; fi
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$data"
}
trap cleanup EXIT

serve() {  # serve NAME [ENV…]: starts a release server with the environment given
  env SLUICE__SERVER__DATA_DIR="$data/$1" SLUICE__SERVER__BIND=127.0.0.1:$port \
    SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:0 SLUICE_LOG=warn "${@:2}" $bin serve > "$data/$1.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  SLUICE_BENCH_TOKEN=$(env SLUICE__SERVER__DATA_DIR="$data/$1" "${@:2}" $bin token --sub bench1 --ttl 1h)
  SLUICE_BENCH_TOKENS=$(for n in $(seq 1 "$OWNERS"); do env SLUICE__SERVER__DATA_DIR="$data/$1" "${@:2}" $bin token --sub "bench$n" --ttl 1h; done | paste -sd,)
  export SLUICE_BENCH_TOKEN SLUICE_BENCH_TOKENS
}
stop() { kill -TERM $server; wait $server 2>/dev/null || true; server=0; }
load() {
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/create.lua "http://127.0.0.1:$port/v1/uploads" \
    | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
}

if [ -z "${SKIP_SQLITE:-}" ]; then
  echo "== POST /v1/uploads, SQLite (embedded), $CONNECTIONS connections, $OWNERS owners"
  serve sqlite
  load
  stop
fi

echo "== POST /v1/uploads, PostgreSQL + Redis, $CONNECTIONS connections, $OWNERS owners"
psql "$PG/postgres" -qc "CREATE DATABASE $db"
serve pg SLUICE__DATABASE__URL="$PG/$db" SLUICE__QUEUE__REDIS_URL="$REDIS" SLUICE__QUEUE__NAMESPACE="bench-$stamp" \
  SLUICE__DATABASE__MAX_CONNECTIONS="${POOL:-16}" "${serve_env[@]}"
load
stop
echo "== pgbench, $SQL, same database, $CONNECTIONS connections"
pgbench -n -c"$CONNECTIONS" -j2 -T"${DURATION%s}" -D owners="$OWNERS" -f "$SQL" "$PG/$db" 2>&1 \
  | grep -E 'tps|latency average|failed'
