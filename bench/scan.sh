#!/usr/bin/env bash
# The scanning stage's throughput: a 1 GiB clean object uploaded (multipart, embedded
# store) to a profile that scans, the time from `complete` until the worker's clamd
# verdict made it `uploaded`, and the Sluice process's RSS sampled while it streams;
# beside `clamdscan` of the same file from disk (clamd reads it itself) and with
# `--stream` (clamdscan streams it over the socket, as Sluice does). Then the same object
# to a `rehash` profile (a worker reads it back and compares its SHA-256).
#   bench/scan.sh          SIZE=… (default 1 GiB)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clamd >/dev/null || { echo "needs clamav-daemon (apt install clamav-daemon)" >&2; exit 1; }
cargo build --release -q -p sluice
bin=target/release/sluice
data=$(mktemp -d)
port=${PORT:-18798}
clamd_port=${CLAMD_PORT:-13310}
mkdir -p "$data/clamdb"
# The EICAR test file's MD5 and size: one signature, so clamd starts in a second.
echo "44d88612fea8a8f36de82e1278abb02f:68:Sluice-Test-EICAR" > "$data/clamdb/test.hdb"
cat > "$data/clamd.conf" <<CONF
Foreground yes
DatabaseDirectory $data/clamdb
TCPSocket $clamd_port
TCPAddr 127.0.0.1
StreamMaxLength 1100M
MaxScanSize 1100M
MaxFileSize 1100M
LogFile $data/clamd.log
CONF
clamd -c "$data/clamd.conf" &
clamd_pid=$!
export SLUICE__SERVER__DATA_DIR=$data/sluice SLUICE__SERVER__BIND=127.0.0.1:$port
export SLUICE__STORAGE__EMBEDDED_BIND=127.0.0.1:$((port + 1))
export SLUICE__SCANNER__CLAMD=tcp://127.0.0.1:$clamd_port SLUICE__SCANNER__MAX_STREAM=1100MiB
export SLUICE__PROFILES__SCANNED__SCAN=true SLUICE__PROFILES__SCANNED__MAX_SIZE=2GiB
export SLUICE__PROFILES__REHASHED__REHASH=true SLUICE__PROFILES__REHASHED__MAX_SIZE=2GiB
export SLUICE_LOG=${SLUICE_LOG:-warn}
for _ in $(seq 1 100); do
  python3 -c "import socket; s=socket.create_connection(('127.0.0.1',$clamd_port)); s.sendall(b'zPING\0'); assert s.recv(8).startswith(b'PONG')" 2>/dev/null && break
  sleep 0.2
done
$bin serve > "$data/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server $clamd_pid 2>/dev/null; wait $server $clamd_pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
SLUICE_BENCH_TOKEN=$($bin token --sub bench --ttl 1h) SLUICE_API=http://127.0.0.1:$port \
  SLUICE_PID=$server CLAMD_CONF=$data/clamd.conf python3 bench/scan.py
