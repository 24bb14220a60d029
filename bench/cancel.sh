#!/usr/bin/env bash
# Measures whether cancelling a solve from the client frees the daemon: starts a build
# whose RUN step sleeps 20 s, interrupts the client after 3 s, and reports how long the
# RUN step's process survives the cancellation. Needs BUILDKIT_HOST and buildctl
# (make testbed provides both).
set -euo pipefail
runs=${1:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/Dockerfile" <<'DF'
FROM alpine
ARG N=1
RUN echo $N && sleep 20 && echo done
DF
now() { date +%s.%N; }
for i in $(seq "$runs"); do
  buildctl build --frontend dockerfile.v0 --local context="$dir" --local dockerfile="$dir" \
    --opt build-arg:N=$RANDOM$RANDOM --progress plain >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do pgrep -f "sleep 20" >/dev/null && break; sleep 0.05; done
  t0=$(now)
  kill -INT "$pid"
  wait "$pid" || true
  t1=$(now)
  while pgrep -f "sleep 20" >/dev/null; do sleep 0.01; done
  t2=$(now)
  printf 'run %d: client returned after %.3fs, RUN process gone after %.3fs\n' "$i" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t0" | bc)"
done
