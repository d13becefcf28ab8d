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
  version="$("$bin" --version)"
  echo "== tests on Node $version ($bin)"
  # On the primary line, the bounded-service test runs for issue 15's 60 s, under 8 MiB (the
  # suite's default is 12 s under 4 MiB, to keep a run within ~5 minutes). Under the issue's
  # 32 MiB a service sharing the machine with the rest of the suite may not fill the bound in
  # 60 s (it did not once here); bench/bounded.mjs runs that scenario on a quiet machine.
  service=()
  if [[ "$version" == v24.* ]]; then service=(RECALL_TEST_SERVICE_MS=60000 RECALL_TEST_SERVICE_MAX_BYTES=8388608); fi
  env "${service[@]}" PATH="$(dirname "$bin"):$PATH" "$bin" scripts/test.mjs "$@"
done
