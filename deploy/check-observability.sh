#!/usr/bin/env bash
# Checks Sluice's Prometheus rules and Grafana dashboard:
#   (a) promtool: the rules and the example config are valid, and the rules' unit tests
#       (deploy/prometheus/alerts.test.yml) pass;
#   (b) every metric a query of alerts.yml or grafana/sluice.json names is one Sluice
#       exports (read from core/src/metrics.rs), every alert has a severity, a summary and
#       a runbook, and a unit test where it fires;
#   (c) live: a real Sluice (embedded mode, plus a store nobody listens on) and a real
#       Prometheus scraping it every second; SluiceStoreErrors is not firing, uploads to
#       the dead store fail, and then it fires. Every dashboard query is also run on
#       that Prometheus, so one that does not parse fails here.
#
# Usage: deploy/check-observability.sh [--no-live]
# Needs: promtool and prometheus (Debian: apt-get install prometheus), python3, curl, and
# a built Sluice: SLUICE_BIN (default target/debug/sluice; --no-live does not need it).
# PROMTOOL and PROMETHEUS override the tools' paths.
set -euo pipefail

invoked_from=$PWD
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

say() { printf 'observability: %s\n' "$*"; }
fail() {
    printf 'observability: FAILED: %s\n' "$*" >&2
    exit 1
}

live=1
for arg in "$@"; do
    case $arg in
        --no-live) live=0 ;;
        *) fail "unknown argument $arg (usage: $0 [--no-live])" ;;
    esac
done

promtool=${PROMTOOL:-promtool}
prometheus=${PROMETHEUS:-prometheus}
command -v "$promtool" >/dev/null ||
    fail "promtool not found: install Prometheus' tools (Debian: apt-get install prometheus) or set PROMTOOL"
command -v python3 >/dev/null || fail "python3 not found"

rules=deploy/prometheus/alerts.yml
rule_tests=deploy/prometheus/alerts.test.yml
config=deploy/prometheus/prometheus.yml
dashboard=deploy/grafana/sluice.json
metrics_rs=core/src/metrics.rs
started=$SECONDS

# --- (a) promtool ------------------------------------------------------------------
say "promtool check rules $rules"
"$promtool" check rules "$rules" || fail "promtool check rules $rules"
# The config names its rule file relative to itself (Prometheus resolves rule_files from
# the config file's directory); promtool checks that file too.
say "promtool check config $config"
"$promtool" check config "$config" || fail "promtool check config $config"
say "promtool test rules $rule_tests"
"$promtool" test rules "$rule_tests" || fail "promtool test rules $rule_tests"

# --- (b) metric names, alert metadata, test coverage ----------------------------------
say "checking metric names against $metrics_rs, alert labels/annotations and test coverage"
python3 - "$metrics_rs" "$rules" "$dashboard" "$rule_tests" <<'PY' || fail "static checks (above)"
import json
import re
import sys

metrics_rs, rules_path, dashboard_path, tests_path = sys.argv[1:5]
src = open(metrics_rs, encoding="utf-8").read()
errors = []

# Exported names: the "sluice_…" literals registered in metrics.rs. A histogram exports
# only NAME_bucket, NAME_sum and NAME_count (no series is called NAME itself).
literals = set(re.findall(r'"(sluice_[a-z0-9_]+)"', src))
histograms = set(re.findall(r'histogram\(\s*&?\w+\s*,\s*"(sluice_[a-z0-9_]+)"', src))
histograms |= set(re.findall(r'HistogramOpts::new\(\s*"(sluice_[a-z0-9_]+)"', src))
if not literals:
    sys.exit(f"no sluice_ metric names found in {metrics_rs}")
exported = {"up"}  # Prometheus' own, per target
for name in literals:
    if name in histograms:
        exported |= {name + "_bucket", name + "_sum", name + "_count"}
    else:
        exported.add(name)

# Queries in the rules: every `expr:`, inline or a block scalar (`expr: |`).
def rule_exprs(text):
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        i += 1
        if not m:
            continue
        indent, value = len(m.group(1)), m.group(2).strip()
        if value and value[0] in "|>":
            block = []
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                block.append(lines[i].strip())
                i += 1
            value = " ".join(block)
        elif len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out.append(value)
    return out

# Queries in the dashboard: every "expr" (panels, annotations), and the queries of its
# templating variables of type "query".
def dashboard_exprs(node, out):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                out.append(value)
            else:
                dashboard_exprs(value, out)
    elif isinstance(node, list):
        for item in node:
            dashboard_exprs(item, out)
    return out

def variable_queries(dash):
    out = []
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        for q in (query, var.get("definition")):
            if isinstance(q, str) and q and q not in out:
                out.append(q)
    return out

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "bool", "offset", "atan2", "inf", "nan",
}

def metric_names(expr):
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "", e)  # Grafana variables
    e = re.sub(
        r"label_values\(\s*([A-Za-z_:][\w:]*)?\s*(\{[^}]*\})?\s*,\s*\w+\s*\)",
        lambda m: m.group(1) or "",
        e,
    )
    e = re.sub(r"\{[^}]*\}", "{}", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)  # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.:])[A-Za-z_:][\w:]*", e):
        word = m.group(0)
        if e[m.end():].lstrip().startswith("("):
            continue  # a function or an aggregation
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names

queries = [(rules_path, q) for q in rule_exprs(open(rules_path, encoding="utf-8").read())]
dash = json.load(open(dashboard_path, encoding="utf-8"))
queries += [(dashboard_path, q) for q in dashboard_exprs(dash, []) + variable_queries(dash)]
used = {}
for where, q in queries:
    for name in metric_names(q):
        used.setdefault(name, set()).add(where)
unknown = sorted(n for n in used if n not in exported)
for name in unknown:
    hint = ""
    if name in histograms:
        hint = " (a histogram: query its _bucket, _sum or _count)"
    errors.append(f"unknown metric {name}{hint}, used in {', '.join(sorted(used[name]))}")
n_rules = sum(1 for w, _ in queries if w == rules_path)
if not unknown:
    print(f"observability: {len(queries)} queries ({n_rules} in the rules, {len(queries) - n_rules} in the dashboard) "
          f"use {len(used)} metric names, all among the {len(exported)} Sluice exports")

# Every alert: severity label, summary and runbook annotations.
rules_text = open(rules_path, encoding="utf-8").read()
alerts = []
for chunk in re.split(r"^\s*- alert:\s*", rules_text, flags=re.M)[1:]:
    name = chunk.split()[0]
    alerts.append(name)
    for what, need in (
        ("a severity label (critical, warning or info)", r"^\s*severity:\s*(critical|warning|info)\s*$"),
        ("annotations.summary", r"^\s*summary:\s*\S"),
        ("annotations.runbook", r"^\s*runbook:\s*\S"),
    ):
        if not re.search(need, chunk, flags=re.M):
            errors.append(f"alert {name} lacks {what}")
if len(set(alerts)) != len(alerts):
    errors.append("duplicate alert names in " + rules_path)

# Every alert fires in at least one unit test (a case with exp_labels).
tests_text = open(tests_path, encoding="utf-8").read()
fired = set()
for case in re.split(r"^\s*- eval_time:", tests_text, flags=re.M)[1:]:
    m = re.search(r"^\s*alertname:\s*(\S+)", case, flags=re.M)
    if m and re.search(r"^\s*- exp_labels:", case, flags=re.M):
        fired.add(m.group(1))
for name in alerts:
    if name not in fired:
        errors.append(f"alert {name} has no unit test in {tests_path} where it fires")
if not errors:
    print(f"observability: {len(alerts)} alerts, each with a severity, a summary, a runbook and a unit test where it fires")

if errors:
    for e in errors:
        print(f"observability: {e}", file=sys.stderr)
    sys.exit(1)
PY

if [[ $live == 0 ]]; then
    say "static checks passed in $((SECONDS - started)) s (--no-live: no Sluice/Prometheus run)"
    exit 0
fi

# --- (c) live: a real Sluice, a real Prometheus, an alert firing ----------------------
command -v "$prometheus" >/dev/null ||
    fail "prometheus not found: Debian: apt-get install prometheus (then stop the service it starts, if any), or set PROMETHEUS"
command -v curl >/dev/null || fail "curl not found"
if [[ -n ${SLUICE_BIN:-} ]]; then
    sluice_bin=$SLUICE_BIN
    [[ $sluice_bin == /* ]] || sluice_bin=$invoked_from/$sluice_bin
else
    sluice_bin=$root/target/debug/sluice
fi
[[ -x $sluice_bin ]] || fail "no Sluice binary at $sluice_bin: build it (cargo build) or set SLUICE_BIN"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-observability.XXXXXX")
pids=()
cleanup() {
    local status=$?
    local pid log
    # The logs as they were when it failed, before the shutdown lines.
    if [[ $status != 0 ]]; then
        for log in "$tmp"/sluice.log "$tmp"/prometheus.log; do
            [[ -s $log ]] || continue
            printf 'observability: --- last lines of %s ---\n' "${log##*/}" >&2
            tail -n 25 "$log" >&2
        done
    fi
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r api_port store_port prom_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
')
api=http://127.0.0.1:$api_port
prom=http://127.0.0.1:$prom_port

# Sluice in embedded mode, configured by these variables alone: any SLUICE__* or
# SLUICE_CONFIG of the caller (say, CI pointing the test suite at PostgreSQL) is dropped.
unset_args=()
while IFS= read -r var; do
    unset_args+=(-u "$var")
done < <(compgen -e | grep -E '^SLUICE(__.*|_CONFIG)$' || true)
sluice_env=(
    NO_COLOR=1
    SLUICE__SERVER__BIND=127.0.0.1:$api_port
    SLUICE__SERVER__DATA_DIR=$tmp/data
    SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:$store_port
    SLUICE__AUTH__TOKEN_SECRET=observability-check-secret-0123456789abcdef
    # A second store nobody listens on, and a profile whose uploads go there.
    SLUICE__STORES__DEAD__ENDPOINT=http://127.0.0.1:1
    SLUICE__STORES__DEAD__ACCESS_KEY_ID=x
    SLUICE__STORES__DEAD__SECRET_ACCESS_KEY=y
    SLUICE__STORES__DEAD__FORCE_PATH_STYLE=true
    # No stale-multipart sweep of it: its failures would come every queue.sweep_interval,
    # and this check wants the store's errors to come from the requests below alone.
    SLUICE__STORES__DEAD__LIST_MULTIPART_UPLOADS=false
    SLUICE__PROFILES__DEAD__STORE=dead
    SLUICE__PROFILES__DEAD__MULTIPART_THRESHOLD=5MiB
)
mkdir -p "$tmp/data"
sluice() { (cd "$tmp" && exec env "${unset_args[@]}" "${sluice_env[@]}" "$sluice_bin" "$@"); }

say "starting Sluice ($sluice_bin) on $api, embedded store on 127.0.0.1:$store_port, store \"dead\" at 127.0.0.1:1"
# Not through sluice(): the subshell execs into env, env into Sluice, so $! is Sluice.
(cd "$tmp" && exec env "${unset_args[@]}" "${sluice_env[@]}" "$sluice_bin" serve) >"$tmp/sluice.log" 2>&1 &
pids+=($!)
sluice_pid=$!
for i in $(seq 1 240); do
    kill -0 "$sluice_pid" 2>/dev/null || fail "Sluice exited at start (log below)"
    curl -fsS -o /dev/null "$api/healthz" 2>/dev/null && break
    [[ $i == 240 ]] && fail "Sluice did not answer /healthz within 120 s"
    sleep 0.5
done
say "Sluice is up"

# A copy of the shipped rules with every `for:` cut to 0s: the expressions are exactly
# the shipped ones, only the waiting is shortened, so the alert fires within seconds.
python3 - "$rules" "$tmp/alerts.yml" <<'PY' || fail "cannot rewrite the rules' for: durations"
import re
import sys

src, dst = sys.argv[1:3]
text = open(src, encoding="utf-8").read()
text, n = re.subn(r"^(\s*)for:\s*\S+\s*$", r"\1for: 0s", text, flags=re.M)
if n == 0:
    sys.exit("no for: found")
header = (
    "# Generated by deploy/check-observability.sh from deploy/prometheus/alerts.yml:\n"
    "# the expressions are exactly the shipped ones; only the waiting is shortened\n"
    f"# ({n} `for:` durations rewritten to 0s).\n"
)
open(dst, "w", encoding="utf-8").write(header + text)
PY
cat >"$tmp/prometheus.yml" <<EOF
# Generated by deploy/check-observability.sh: scrape the Sluice under test every second.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - alerts.yml
scrape_configs:
  - job_name: sluice
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$api_port']
EOF
"$promtool" check config "$tmp/prometheus.yml" >/dev/null || fail "the generated Prometheus config is invalid"

say "starting Prometheus ($(command -v "$prometheus")) on $prom, scraping Sluice every 1 s, alerts.yml with for: 0s"
"$prometheus" \
    --config.file="$tmp/prometheus.yml" \
    --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" \
    --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom_pid=$!
for i in $(seq 1 120); do
    kill -0 "$prom_pid" 2>/dev/null || fail "Prometheus exited at start (log below)"
    curl -fsS -o /dev/null "$prom/-/ready" 2>/dev/null && break
    [[ $i == 120 ]] && fail "Prometheus was not ready within 60 s"
    sleep 0.5
done

# Reads Prometheus' API answers on stdin.
api_json() { python3 -c "$1" "${@:2}"; }
count_rules='
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
print(sum(len(g["rules"]) for g in groups))
'
up_value='
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")
'
# The state of an alert ("" when not active), and optionally the label it must carry.
alert_state='
import json, sys
name, label, value = sys.argv[1], sys.argv[2], sys.argv[3]
states = [a["state"] for a in json.load(sys.stdin)["data"]["alerts"]
          if a["labels"].get("alertname") == name and (not label or a["labels"].get(label) == value)]
print("firing" if "firing" in states else (states[0] if states else ""))
'
active_alerts='
import json, sys
alerts = json.load(sys.stdin)["data"]["alerts"]
print(", ".join(sorted("%s (%s)" % (a["labels"]["alertname"], a["state"]) for a in alerts)) or "none")
'

want_rules=$(grep -cE '^\s*- alert:' "$rules")
loaded=$(curl -fsS "$prom/api/v1/rules" | api_json "$count_rules")
[[ $loaded == "$want_rules" ]] || fail "Prometheus loaded $loaded rules, alerts.yml has $want_rules"
say "Prometheus is up with all $loaded alerting rules"

for i in $(seq 1 60); do
    up=$(curl -fsS "$prom/api/v1/query" --data-urlencode 'query=up{job="sluice"}' | api_json "$up_value")
    [[ $up == 1 ]] && break
    [[ $i == 60 ]] && fail "Prometheus did not scrape Sluice within 30 s (up: $up)"
    sleep 0.5
done
# A few scrapes and rule evaluations with nothing failing.
sleep 3
state=$(curl -fsS "$prom/api/v1/alerts" | api_json "$alert_state" SluiceStoreErrors "" "")
[[ -z $state ]] || fail "SluiceStoreErrors is already $state before any upload to the dead store"
say "before the failing uploads: up{job=\"sluice\"} = 1, SluiceStoreErrors not active (active: $(curl -fsS "$prom/api/v1/alerts" | api_json "$active_alerts"))"

# Every dashboard query runs on this Prometheus (Grafana's variables replaced), so one
# that does not parse fails here.
python3 - "$dashboard" "$prom" <<'PY' || fail "dashboard queries (above)"
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

path, prom = sys.argv[1:3]
exprs = []
def walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                exprs.append(v)
            else:
                walk(v)
    elif isinstance(node, list):
        for v in node:
            walk(v)
walk(json.load(open(path, encoding="utf-8")))
subst = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s", "$job": "sluice", "$instance": ".*"}
bad = 0
with_data = 0
for expr in exprs:
    q = expr
    for k in sorted(subst, key=len, reverse=True):
        q = q.replace(k, subst[k])
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            answer = json.load(r)
        if answer["data"]["result"]:
            with_data += 1
    except urllib.error.HTTPError as e:
        bad += 1
        print(f"observability: dashboard query refused by Prometheus: {expr}\n  {e.read().decode()}", file=sys.stderr)
if bad:
    sys.exit(1)
print(f"observability: all {len(exprs)} dashboard queries run on Prometheus ({with_data} already return series)")
PY

token=$(sluice token --sub alice 2>"$tmp/token.log" | tail -n 1)
[[ -n $token ]] || fail "sluice token printed nothing: $(cat "$tmp/token.log")"
upload() {
    curl -sS -o "$tmp/upload.json" -w '%{http_code}' -X POST "$api/v1/uploads" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"profile":"dead","filename":"big.bin","size":10485760,"content_type":"application/octet-stream"}'
}
code=$(upload)
grep -q '"storage_unavailable"' "$tmp/upload.json" && [[ $code == 503 ]] ||
    fail "an upload to the dead store answered $code $(cat "$tmp/upload.json"), not 503 storage_unavailable"
say "POST /v1/uploads (profile dead) answers 503 storage_unavailable; uploading again every 0.5 s until SluiceStoreErrors fires"
line=$(curl -fsS "$api/metrics" | grep -E '^sluice_store_operations_total\{.*store="dead"' | grep 'outcome="unreachable"' | head -n 1 || true)
[[ -n $line ]] || fail "/metrics has no sluice_store_operations_total{store=\"dead\",outcome=\"unreachable\"}"
say "/metrics: $line"

fired=0
began=$SECONDS
while ((SECONDS - began < 60)); do
    code=$(upload)
    [[ $code == 503 ]] || fail "an upload to the dead store answered $code $(cat "$tmp/upload.json")"
    state=$(curl -fsS "$prom/api/v1/alerts" | api_json "$alert_state" SluiceStoreErrors store dead)
    if [[ $state == firing ]]; then
        fired=1
        break
    fi
    sleep 0.5
done
((fired)) || fail "SluiceStoreErrors{store=\"dead\"} was not firing 60 s after the failing uploads began (state: ${state:-inactive})"
say "SluiceStoreErrors fired $((SECONDS - began)) s after the failing uploads began:"
curl -fsS "$prom/api/v1/alerts" | python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    if a["labels"].get("alertname") == "SluiceStoreErrors" and a["state"] == "firing":
        labels = ", ".join("%s=%s" % kv for kv in sorted(a["labels"].items()))
        print("observability:   state:   %s since %s, value %s" % (a["state"], a["activeAt"], a["value"]))
        print("observability:   labels:  " + labels)
        print("observability:   summary: " + a["annotations"]["summary"])
        print("observability:   runbook: " + a["annotations"]["runbook"])
'
say "all alerts active now: $(curl -fsS "$prom/api/v1/alerts" | api_json "$active_alerts")"
say "passed in $((SECONDS - started)) s"
