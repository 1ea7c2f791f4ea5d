#!/usr/bin/env bash
# The TypeScript client (client/): its generated types match the committed spec, it
# type-checks, and its tests pass against a real embedded `sluice serve`
# (target/debug/sluice, built by the cargo tests before this runs).
set -euo pipefail
cd "$(dirname "$0")/../client"
npm ci --no-audit --no-fund
npm run check-generated
npm test
