#!/usr/bin/env bash
# The chaos run (bench/chaos.py says what it does and checks): two API processes and two
# workers on PostgreSQL + a private Redis + Ceph RGW + a private clamd, each SIGKILLed once
# and Redis and clamd restarted, under honest, abandoning, lying, replaying, crashing and
# infected-file-uploading clients.
# Loopback only, bounded (DURATION, default 60 s, plus at most SETTLE_MAX waiting).
#   eval "$(../shared/tools/ceph-s3 start)"; bench/chaos.sh       RUNS=3 for three in a row
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLUICE_TEST_S3_ENDPOINT:?start Ceph first: eval \"\$(../shared/tools/ceph-s3 start)\"}"
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "chaos: PostgreSQL is not up on 127.0.0.1:5432" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "chaos: redis-server is not installed" >&2; exit 1; }
command -v clamd >/dev/null || { echo "chaos: clamd is not installed (apt install clamav-daemon)" >&2; exit 1; }
cargo build --release -q -p sluice
# Ceph RGW keeps a deleted object's data for two hours (rgw_gc_obj_min_wait) and the test
# gateway's OSD is 4 GiB in memory: a run writes about a gigabyte, so between runs its
# garbage collector frees what the last run deleted (BETWEEN_RUNS; empty to skip).
ceph_conf=${CEPH_S3_DIR:-${TMPDIR:-/tmp}/sluice-ceph}/ceph.conf
default_between=""
if command -v radosgw-admin >/dev/null && [ -f "$ceph_conf" ]; then
  default_between="radosgw-admin -c $ceph_conf gc process --include-all"
fi
BETWEEN_RUNS=${BETWEEN_RUNS-$default_between}
for run in $(seq 1 "${RUNS:-1}"); do
  [ -n "$BETWEEN_RUNS" ] && sh -c "$BETWEEN_RUNS" >/dev/null 2>&1
  echo "chaos: run $run of ${RUNS:-1}"
  python3 bench/chaos.py
done
