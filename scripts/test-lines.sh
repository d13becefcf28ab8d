#!/usr/bin/env bash
# Runs the test suite on every supported Node line: the Node on PATH, then each other line's
# official build, fetched once from the npm registry into a cache (scripts/node-lines.mjs).
# Expects dist/ built. --others skips the Node on PATH (CI has just run it as `npm test`).
# Other arguments go to node --test. Stops at the first line whose suite fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--others" ]]; then shift; else node scripts/test.mjs "$@"; fi
mapfile -t others < <(node scripts/node-lines.mjs)
for bin in "${others[@]}"; do
  echo "== tests on Node $("$bin" --version) ($bin)"
  PATH="$(dirname "$bin"):$PATH" "$bin" scripts/test.mjs "$@"
done
