#!/usr/bin/env bash
# The browser test: bundles the Uppy pages (browser/page/main.js with Uppy 6,
# browser/uppy5/main.js with Uppy 5) and runs the ignored
# `browser::` tests of tests/it, which start Sluice, drive Debian's chromium through
# browser/test.mjs and check the sessions through Sluice's API, on the embedded leg and,
# when SLUICE_TEST_* are set, on PostgreSQL + Redis + S3. Needs /usr/bin/chromium and
# `npm ci` already run here and in uppy5/ (.ci/run does all). Never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")"
[ -x /usr/bin/chromium ] || { echo "browser: FAIL (no /usr/bin/chromium; apt-get install chromium)"; exit 1; }
[ -d node_modules/playwright-core ] && [ -d uppy5/node_modules/@uppy/aws-s3 ] ||
  { echo "browser: FAIL (run npm ci in browser/ and browser/uppy5/ first)"; exit 1; }
node build.mjs
cd ..
start=$(date +%s)
legs="embedded"
[ -n "${SLUICE_TEST_DATABASE_URL:-}" ] && legs="embedded+production"
if cargo test -p sluice-tests --test it browser:: -- --ignored --nocapture; then
  v() { node -p "require('./browser/$1node_modules/@uppy/aws-s3/package.json').version"; }
  echo "browser: PASS (@uppy/aws-s3 $(v '') and $(v uppy5/) in $(/usr/bin/chromium --version 2>/dev/null | head -1), legs $legs, $(( $(date +%s) - start ))s)"
else
  echo "browser: FAIL (legs $legs, $(( $(date +%s) - start ))s)"
  exit 1
fi
