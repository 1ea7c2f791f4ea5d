#!/usr/bin/env bash
# The chaos run (bench/chaos.py says what it does and checks): two API processes and two
# workers on PostgreSQL + a private Redis + Ceph RGW, each SIGKILLed once and Redis
# restarted, under honest, abandoning, lying, replaying and crashing clients.
# Loopback only, bounded (DURATION, default 60 s, plus at most SETTLE_MAX waiting).
#   eval "$(../shared/tools/ceph-s3 start)"; bench/chaos.sh       RUNS=3 for three in a row
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLUICE_TEST_S3_ENDPOINT:?start Ceph first: eval \"\$(../shared/tools/ceph-s3 start)\"}"
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "chaos: PostgreSQL is not up on 127.0.0.1:5432" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "chaos: redis-server is not installed" >&2; exit 1; }
cargo build --release -q -p sluice
for run in $(seq 1 "${RUNS:-1}"); do
  echo "chaos: run $run of ${RUNS:-1}"
  python3 bench/chaos.py
done
