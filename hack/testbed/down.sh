#!/usr/bin/env bash
# Stops the testbed: the Docker Engine (with its BuildKit container), buildkitd and the
# registry. State (cache, registry blobs, images) is kept unless --purge is given.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${DEVLOOP_TESTBED_DIR:-/var/lib/devloop-testbed}
bash "$here/docker.sh" down
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
