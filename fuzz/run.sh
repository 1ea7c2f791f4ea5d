#!/usr/bin/env bash
# Builds every fuzz target and runs each for a bounded time; any crash (a failed
# assertion is one) fails the run and leaves its input in fuzz/artifacts/<target>/.
#
#   FUZZ_SECONDS   seconds per target (default 20)
#   FUZZ_TARGETS   space-separated targets (default: all of them)
#   FUZZ_BUILD_ONLY=1  build the targets and stop (CI builds them while the tests run)
#   FUZZ_SANITIZER libFuzzer sanitizer (default none: the workspace forbids unsafe code,
#                  and ASan roughly doubles the build; `address` works here too)
#
# Stable rustc with RUSTC_BOOTSTRAP=1 stands in for nightly (cargo-fuzz passes -Z flags).
# New inputs libFuzzer finds go to a scratch corpus, so the committed seeds stay as
# they are; `FUZZ_KEEP_CORPUS=1` adds the new ones to fuzz/corpus/<target>/ instead.
set -euo pipefail
cd "$(dirname "$0")"

CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-20}
sanitizer=${FUZZ_SANITIZER:-none}
targets=${FUZZ_TARGETS:-filename disposition config token uppy}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION" >&2
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

start=$(date +%s)
cargo fuzz build --sanitizer "$sanitizer"
echo "fuzz: built in $(( $(date +%s) - start ))s" >&2
[ "${FUZZ_BUILD_ONLY:-}" = 1 ] && exit 0

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in $targets; do
  mkdir -p "$scratch/$target" "corpus/$target"
  into="$scratch/$target"
  [ "${FUZZ_KEEP_CORPUS:-}" = 1 ] && into="corpus/$target"
  echo "fuzz: $target for ${seconds}s" >&2
  # The first directory receives what libFuzzer finds; the seeds are read from the second.
  log="$scratch/$target.log"
  if ! cargo fuzz run --sanitizer "$sanitizer" "$target" "$into" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1; then
    grep -v '^#[0-9]' "$log" | tail -40 >&2
    echo "fuzz: $target FAILED; reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer $target fuzz/artifacts/$target/<crash-file>" >&2
    exit 1
  fi
  grep -E '^(Done|stat::(number_of_executed_units|new_units_added))' "$log" >&2 || true
done
echo "fuzz: every target ran ${seconds}s without a crash ($(( $(date +%s) - start ))s in all)" >&2
