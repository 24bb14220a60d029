#!/usr/bin/env bash
# Stops the testbed's buildkitd and registry. State (cache, registry blobs) is kept
# unless --purge is given.
set -euo pipefail
STATE=${DEVLOOP_TESTBED_DIR:-/var/lib/devloop-testbed}
for p in buildkitd registry; do
  f=$STATE/$p.pid
  if [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null; then
    kill "$(cat "$f")"
    for _ in $(seq 50); do kill -0 "$(cat "$f")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
done
rm -f "$STATE/images.pushed"
if [[ ${1:-} == --purge ]]; then rm -rf "$STATE"; fi
echo "testbed: down"
