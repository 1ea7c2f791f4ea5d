#!/usr/bin/env bash
# The HTTP contract, checked from outside: the committed OpenAPI document validates as
# OpenAPI 3.1, and schemathesis (every check) finds nothing against a running Sluice on
# the embedded stack and, when its services are given, on PostgreSQL + Redis + S3.
# Needs the Python tools of .ci/requirements.txt on PATH and a built target/debug/sluice.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug/sluice
admin_key=contract-admin-key-0123456789
examples=${SCHEMATHESIS_EXAMPLES:-60}

openapi-spec-validator openapi/openapi.json

# Starts Sluice with the environment given, runs both passes, stops it.
check_leg() {
  local leg=$1 port=$2
  local data; data=$(mktemp -d)
  env SLUICE__SERVER__DATA_DIR="$data" SLUICE__SERVER__BIND=127.0.0.1:"$port" \
      SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:0 SLUICE__AUTH__ADMIN_KEYS="[\"$admin_key\"]" \
      SLUICE_LOG=warn "${@:3}" "$bin" serve > "$data/serve.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$data/serve.log"; kill $server; return 1; }
  local token
  token=$(env SLUICE__SERVER__DATA_DIR="$data" "${@:3}" "$bin" token --sub contract --ttl 2h)
  local status=0
  echo "== schemathesis, $leg leg, upload token"
  schemathesis --config-file .ci/schemathesis.toml run openapi/openapi.json \
    --url "http://127.0.0.1:$port" --checks all -H "Authorization: Bearer $token" \
    --exclude-path-regex '^/v1/admin' --max-examples "$examples" --seed 1 --no-color || status=1
  echo "== schemathesis, $leg leg, admin key"
  schemathesis --config-file .ci/schemathesis.toml run openapi/openapi.json \
    --url "http://127.0.0.1:$port" --checks all -H "Authorization: Bearer $admin_key" \
    --include-path-regex '^/v1/admin' --max-examples "$examples" --seed 1 --no-color || status=1
  kill -TERM $server; wait $server 2>/dev/null || true
  [ $status -eq 0 ] || tail -50 "$data/serve.log"
  rm -rf "$data"
  return $status
}

check_leg embedded 18950

if [ -n "${SLUICE_TEST_DATABASE_URL:-}" ]; then
  suffix=$(date +%s)$$
  db=sluice_contract_$suffix bucket=sluice-contract-$suffix
  base=${SLUICE_TEST_DATABASE_URL%/*}
  psql "$SLUICE_TEST_DATABASE_URL" -qc "CREATE DATABASE $db"
  trap 'psql "$SLUICE_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
  python3 bench/lib/s3bucket.py "$SLUICE_TEST_S3_ENDPOINT" "${SLUICE_TEST_S3_REGION:-us-east-1}" \
    "$SLUICE_TEST_S3_ACCESS_KEY_ID" "$SLUICE_TEST_S3_SECRET_ACCESS_KEY" "$bucket"
  check_leg production 18951 \
    SLUICE__DATABASE__URL="$base/$db" SLUICE__QUEUE__REDIS_URL="$SLUICE_TEST_REDIS_URL" \
    SLUICE__QUEUE__NAMESPACE="contract-$suffix" \
    SLUICE__STORAGE__ENDPOINT="$SLUICE_TEST_S3_ENDPOINT" SLUICE__STORAGE__BUCKET="$bucket" \
    SLUICE__STORAGE__REGION="${SLUICE_TEST_S3_REGION:-us-east-1}" SLUICE__STORAGE__FORCE_PATH_STYLE=true \
    SLUICE__STORAGE__ACCESS_KEY_ID="$SLUICE_TEST_S3_ACCESS_KEY_ID" \
    SLUICE__STORAGE__SECRET_ACCESS_KEY="$SLUICE_TEST_S3_SECRET_ACCESS_KEY"
elif [ -n "${CI:-}" ]; then
  echo "contract: CI must check the production leg (SLUICE_TEST_DATABASE_URL unset)" >&2
  exit 1
else
  echo "contract: production leg skipped (SLUICE_TEST_* unset)"
fi
