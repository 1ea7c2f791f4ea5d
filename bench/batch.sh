#!/usr/bin/env bash
# Batch sessions against one create at a time (issue 19): 10,000 small files through the
# TypeScript helper (bench/batch.mjs) against a release `sluice serve`, on the embedded
# stack and, with Ceph started, on PostgreSQL + Redis + Ceph (fresh database, queue
# namespace and bucket). Prints sessions created per second and the wall time until every
# file is `uploaded`, for `uploadBatch` and for one `Upload` (one create) per file.
#   bench/batch.sh                      FILES=… (default 10000) PARALLEL=… (default 16)
#   eval "$(../shared/tools/ceph-s3 start)"; STACKS="embedded production" bench/batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p sluice
(cd client && npm run -s build)
bin=$(realpath "${CARGO_TARGET_DIR:-target}")/release/sluice
port=${PORT:-18799}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/}
for stack in ${STACKS:-embedded}; do
  data=$(mktemp -d)
  stamp=$(date +%s)
  (
    export SLUICE__SERVER__DATA_DIR=$data SLUICE__SERVER__BIND=127.0.0.1:$port
    export SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:$((port + 1))
    export SLUICE_LOG=${SLUICE_LOG:-warn}
    if [ "$stack" = production ]; then
      : "${SLUICE_TEST_S3_ENDPOINT:?start Ceph first: eval \"\$(../shared/tools/ceph-s3 start)\"}"
      db=sluice_bench_batch_$stamp
      bucket=sluice-bench-batch-$stamp
      region=${SLUICE_TEST_S3_REGION:-us-east-1}
      python3 bench/lib/s3bucket.py "$SLUICE_TEST_S3_ENDPOINT" "$region" \
        "$SLUICE_TEST_S3_ACCESS_KEY_ID" "$SLUICE_TEST_S3_SECRET_ACCESS_KEY" "$bucket"
      psql "$PG/postgres" -qc "CREATE DATABASE $db"
      export SLUICE__DATABASE__URL=$PG/$db SLUICE__QUEUE__REDIS_URL=$REDIS SLUICE__QUEUE__NAMESPACE=bench-batch-$stamp
      export SLUICE__STORAGE__ENDPOINT=$SLUICE_TEST_S3_ENDPOINT SLUICE__STORAGE__BUCKET=$bucket
      export SLUICE__STORAGE__REGION=$region SLUICE__STORAGE__FORCE_PATH_STYLE=true
      export SLUICE__STORAGE__ACCESS_KEY_ID=$SLUICE_TEST_S3_ACCESS_KEY_ID
      export SLUICE__STORAGE__SECRET_ACCESS_KEY=$SLUICE_TEST_S3_SECRET_ACCESS_KEY
      trap 'psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
      $bin migrate
    fi
    $bin serve > "$data/serve.log" 2>&1 &
    server=$!
    trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"; [ -z "${db:-}" ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
    echo "== $stack"
    SLUICE_API=http://127.0.0.1:$port SLUICE_BENCH_TOKEN=$($bin token --sub "bench-$stamp" --ttl 2h) \
      FILES=${FILES:-10000} PARALLEL=${PARALLEL:-16} node bench/batch.mjs
  )
done
