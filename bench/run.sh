#!/usr/bin/env bash
# The benchmarks of issues 5 and 15, as `make bench` runs them:
#   1. savelat: save→serving latency of floor, naive, air and devloop on examples/greeter;
#   2. context scale: savelat again, the example with 0 to 100,000 files no build reads
#      added (data files, and Go packages the server does not import), with devloop's and
#      buildkitd's CPU time per edit;
#   3. watchscale: devloop's watcher on a generated 100k-file tree.
# Arguments go to savelat, e.g. a quick run:  bash bench/run.sh --n 2 --loops floor,naive
#
# Needs BUILDKIT_HOST and buildctl on PATH (make bench: eval "$(bash hack/testbed/up.sh --env)")
# and bin/devloop (make build). air v1.67.4 is installed into $DEVLOOP_CACHE/bin on first use.
# Environment:
#   DEVLOOP_CACHE     where air is installed (default ~/.cache/devloop)
#   BENCH_OUT         where the report, raw JSON and loop logs go (default $TMPDIR/devloop-bench)
#   SCALE_ARGS        flags for the context-scale run (default below: 4 loops × 7 sizes, 4 edits in 2 rounds)
#   BENCH_SCALE       0 to skip the context-scale run
#   WATCHSCALE_ARGS   flags for watchscale (default: none, i.e. the full tree and a 60 s idle window)
#   BENCH_WATCHSCALE  0 to skip the watch-scale benchmark
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [[ -z ${BUILDKIT_HOST:-} ]]; then
  echo "bench: BUILDKIT_HOST is not set; run make bench, or eval \"\$(bash hack/testbed/up.sh --env)\" first" >&2
  exit 1
fi
command -v buildctl >/dev/null || { echo "bench: buildctl is not on PATH" >&2; exit 1; }

cache=${DEVLOOP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devloop}
air=$cache/bin/air
# air is needed unless --loops leaves it out.
if [[ " $* " != *" --loops"* || " $* " == *air* ]]; then
  if ! [[ -x $air ]] || ! "$air" -v 2>/dev/null | grep -q 'v1\.67\.4'; then
    echo "bench: installing air v1.67.4 into $cache/bin" >&2
    mkdir -p "$cache/bin"
    GOBIN=$cache/bin go install github.com/air-verse/air@v1.67.4
  fi
fi

out=${BENCH_OUT:-${TMPDIR:-/tmp}/devloop-bench}
mkdir -p "$out/logs"
go build -o "$out/savelat" ./bench/savelat
go build -o "$out/watchscale" ./bench/watchscale

status=0
"$out/savelat" --devloop bin/devloop --air "$air" --json "$out/savelat.json" --log-dir "$out/logs" "$@" |
  tee "$out/report.md" || status=1
if [[ ${BENCH_SCALE:-1} != 0 ]]; then
  echo | tee -a "$out/report.md"
  scale=${SCALE_ARGS:---loops floor,devloop,devloop-whole,devloop-walk --extra-files 0,10000,50000,100000 --extra-layout assets,package --n 4 --rounds 2}
  mkdir -p "$out/logs-scale"
  # shellcheck disable=SC2086 # SCALE_ARGS is a list of flags
  "$out/savelat" --devloop bin/devloop --json "$out/scale.json" --log-dir "$out/logs-scale" $scale |
    tee -a "$out/report.md" || status=1
fi
if [[ ${BENCH_WATCHSCALE:-1} != 0 ]]; then
  echo | tee -a "$out/report.md"
  # shellcheck disable=SC2086 # WATCHSCALE_ARGS is a list of flags
  "$out/watchscale" --json "$out/watchscale.json" ${WATCHSCALE_ARGS:-} | tee -a "$out/report.md" || status=1
fi
echo "bench: report in $out/report.md, raw samples in $out/*.json, loop logs in $out/logs" >&2
exit $status
