#!/usr/bin/env bash
# The container image's test: builds the repository's Dockerfile with podman and uploads a
# file through the image, first in embedded mode, then against PostgreSQL, Redis and an S3
# server on the host (the production stack). `.ci/run` calls it.
#
# This machine has no image registry, so the two base images of the Dockerfile are made
# here: the runtime base from Debian's packages with `debootstrap --variant=minbase`
# (kept in podman's storage, made once per machine), and the builder stage is replaced by
# a binary built on the host (`--build-context builder=DIR`, DIR/out/sluice). Everything
# after `FROM` in the runtime stage (the user, the volume, the health check, the command)
# is the Dockerfile's own, as `docker build .` runs it.
#
# Environment: SLUICE_BIN (the binary; default: `cargo build --release --locked -p sluice`),
# SLUICE_TEST_DATABASE_URL, SLUICE_TEST_REDIS_URL, SLUICE_TEST_S3_* (the production part;
# skipped, and said so, without them; under CI they are required).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "container: $*" >&2; }
BASE_IMAGE=localhost/sluice-runtime-base:bookworm
IMAGE=localhost/sluice:test
work=$(mktemp -d /tmp/sluice-container.XXXXXX)
containers=()
databases=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  for d in "${databases[@]}"; do psql "${SLUICE_TEST_DATABASE_URL}" -qc "DROP DATABASE IF EXISTS \"$d\"" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Podman here: runc as the runtime, no default ulimits (the sandbox refuses to raise
# them), host networking (no CNI/netavark bridge in the sandbox).
export CONTAINERS_CONF="$work/containers.conf"
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF
for tool in podman runc debootstrap curl psql; do
  command -v "$tool" >/dev/null || { say "$tool is missing (apt-get install podman runc debootstrap curl postgresql-client)"; exit 1; }
done

if ! podman image exists "$BASE_IMAGE"; then
  say "making the runtime base image with debootstrap (once per machine)"
  root="$work/rootfs"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
fi

bin=${SLUICE_BIN:-}
if [ -z "$bin" ]; then
  say "building the release binary (cargo build --release --locked -p sluice)"
  cargo build --release --locked -p sluice
  bin=target/release/sluice
fi
mkdir -p "$work/builder/out"
# Stripped as the Dockerfile's builder stage installs it (`install -s`).
install -s -m 0755 "$bin" "$work/builder/out/sluice"

say "building the image from Dockerfile (runtime stage on $BASE_IMAGE)"
podman build --quiet --format docker --network host --target runtime \
  --build-context builder="$work/builder" \
  --build-arg RUNTIME_IMAGE="$BASE_IMAGE" \
  -t "$IMAGE" -f Dockerfile . >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
say "image $IMAGE: $((size / 1024 / 1024)) MiB ($(du -h "$work/builder/out/sluice" | cut -f1) of it the binary)"
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
[ "$user" = "sluice:sluice" ] || { say "the image runs as '$user', not sluice"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts the image with `name` and the given -e options; waits until its own health check
# (the Dockerfile's HEALTHCHECK, run by podman) passes.
start() {
  local name=$1; shift
  containers+=("$name")
  # No systemd here to time the checks: the loop below runs the image's check itself.
  # (podman 4.3 still complains that it has no systemd: kept in run.log, shown on failure)
  podman run -d --name "$name" --network host --health-interval=disable "$@" "$IMAGE" >/dev/null 2>"$work/run.log" \
    || { cat "$work/run.log" >&2; exit 1; }
  for _ in $(seq 1 60); do
    if podman healthcheck run "$name" >/dev/null 2>&1; then return 0; fi
    if [ "$(podman inspect --format '{{.State.Running}}' "$name")" != true ]; then break; fi
    sleep 0.5
  done
  say "$name never became healthy:"; podman logs "$name" >&2 || true
  exit 1
}

# One upload through the API at $1 with token $2: create, PUT to the presigned URL,
# complete, commit, then a download link whose bytes must be the same.
upload_through() {
  local api=$1 token=$2 body="hello from a container $RANDOM"
  local size=${#body} created id url file link got
  created=$(curl -fsS -X POST "$api/v1/uploads" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"profile\":\"default\",\"filename\":\"hello.txt\",\"size\":$size,\"content_type\":\"text/plain\"}")
  id=$(jq -r .id <<<"$created")
  url=$(jq -r .put.url <<<"$created")
  local headers=()
  while IFS=$'\t' read -r k v; do
    [ "$k" = content-length ] || headers+=(-H "$k: $v")
  done < <(jq -r '.put.headers | to_entries[] | [.key, .value] | @tsv' <<<"$created")
  printf %s "$body" | curl -fsS -X PUT "${headers[@]}" --data-binary @- "$url" >/dev/null
  [ "$(curl -fsS -X POST "$api/v1/uploads/$id/complete" -H "authorization: Bearer $token" | jq -r .state)" = uploaded ]
  file=$(curl -fsS -X POST "$api/v1/uploads/$id/commit" -H "authorization: Bearer $token" | jq -r .id)
  link=$(curl -fsS -X POST "$api/v1/files/$file/download-url" -H "authorization: Bearer $token" | jq -r .url)
  got=$(curl -fsS "$link")
  [ "$got" = "$body" ] || { say "downloaded '$got', uploaded '$body'"; exit 1; }
  say "uploaded, verified, committed and downloaded $size bytes through $api"
}

secret=container-test-token-secret-0123456789
# Embedded mode: the image's defaults, /data on an anonymous volume.
api_port=$(free_port); store_port=$(free_port)
start sluice-embedded-$$ \
  -e SLUICE__SERVER__BIND=127.0.0.1:$api_port \
  -e SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:$store_port \
  -e SLUICE__AUTH__TOKEN_SECRET=$secret
token=$(podman exec sluice-embedded-$$ sluice token --sub alice)
upload_through "http://127.0.0.1:$api_port" "$token"
# Its data lives in /data, owned by the image's user.
owner=$(podman exec sluice-embedded-$$ stat -c %U /data/sluice.db)
[ "$owner" = sluice ] || { say "/data/sluice.db belongs to $owner"; exit 1; }

# The production stack on the host: PostgreSQL, Redis, an S3 server.
if [ -z "${SLUICE_TEST_S3_ENDPOINT:-}" ] || [ -z "${SLUICE_TEST_DATABASE_URL:-}" ] || [ -z "${SLUICE_TEST_REDIS_URL:-}" ]; then
  if [ -n "${CI:-}" ]; then say "CI must give SLUICE_TEST_DATABASE_URL, SLUICE_TEST_REDIS_URL and SLUICE_TEST_S3_*"; exit 1; fi
  say "production part SKIPPED: set SLUICE_TEST_DATABASE_URL, SLUICE_TEST_REDIS_URL and SLUICE_TEST_S3_* to run it"
  exit 0
fi
unique=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
database=sluice_container_$unique
psql "$SLUICE_TEST_DATABASE_URL" -qc "CREATE DATABASE \"$database\"" >/dev/null
databases+=("$database")
bucket=sluice-container-$unique
region=${SLUICE_TEST_S3_REGION:-us-east-1}
# CreateBucket with curl's own SigV4; RGW wants the (empty) payload's digest signed.
curl -fsS -X PUT --aws-sigv4 "aws:amz:$region:s3" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  --user "$SLUICE_TEST_S3_ACCESS_KEY_ID:$SLUICE_TEST_S3_SECRET_ACCESS_KEY" \
  "$SLUICE_TEST_S3_ENDPOINT/$bucket" >/dev/null
api_port=$(free_port)
start sluice-production-$$ \
  -e SLUICE__SERVER__BIND=127.0.0.1:$api_port \
  -e SLUICE__AUTH__TOKEN_SECRET=$secret \
  -e SLUICE__DATABASE__URL="${SLUICE_TEST_DATABASE_URL%/*}/$database" \
  -e SLUICE__QUEUE__REDIS_URL="$SLUICE_TEST_REDIS_URL" \
  -e SLUICE__QUEUE__NAMESPACE="container-$unique" \
  -e SLUICE__STORAGE__ENDPOINT="$SLUICE_TEST_S3_ENDPOINT" \
  -e SLUICE__STORAGE__BUCKET="$bucket" \
  -e SLUICE__STORAGE__REGION="$region" \
  -e SLUICE__STORAGE__ACCESS_KEY_ID="$SLUICE_TEST_S3_ACCESS_KEY_ID" \
  -e SLUICE__STORAGE__SECRET_ACCESS_KEY="$SLUICE_TEST_S3_SECRET_ACCESS_KEY" \
  -e SLUICE__STORAGE__FORCE_PATH_STYLE=true
token=$(podman exec sluice-production-$$ sluice token --sub alice)
upload_through "http://127.0.0.1:$api_port" "$token"
say "passed"
