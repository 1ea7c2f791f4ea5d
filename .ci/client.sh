#!/usr/bin/env bash
# The TypeScript client and the pages (client/): the generated types match the committed
# spec, the bundled pages in api/pages match their sources, everything type-checks, and
# the tests pass against a real embedded `sluice serve` (target/debug/sluice, built by
# the cargo tests before this runs), the page tests in Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")/../client"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
npm run check-generated
npm run check-web
npm test
