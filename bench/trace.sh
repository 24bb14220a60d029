#!/usr/bin/env bash
# Where the time of one server rebuild goes, as BuildKit reports it: the vertex timeline
# of `devloop build server` after a one-line edit (bench/trace), once with the daemon's
# built-in Dockerfile frontend (builder.frontend: auto, the default) and once with the
# `# syntax=` image (builder.frontend: image), next to the same edit built on the host
# and the cost of starting one RUN container. BENCHMARKS.md's bound comes from this.
#
# Needs BUILDKIT_HOST, buildctl on PATH and bin/devloop (make bench provides all three).
#   bash bench/trace.sh [REPEATS]     (default 3: every timeline is printed, the last kept)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repeats=${1:-3}
[[ -n ${BUILDKIT_HOST:-} ]] || { echo "trace: BUILDKIT_HOST is not set (eval \"\$(bash hack/testbed/up.sh --env)\")" >&2; exit 1; }
command -v buildctl >/dev/null || { echo "trace: buildctl is not on PATH" >&2; exit 1; }
devloop=$root/bin/devloop
[[ -x $devloop ]] || { echo "trace: $devloop missing (make build)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/devloop-trace-XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/trace" "$root/bench/trace"
cp -r "$root/examples/greeter/." "$work/app"
cd "$work/app"
n=0
edit() { # a new greeting: the server binary changes
  n=$((n + 1))
  sed -i "s/^const Text = .*/const Text = \"trace edit $n $RANDOM\"/" internal/greeting/greeting.go
}
config() {
  printf 'builder: {frontend: %s}\nbuild_args: {APP_VERSION: dev}\ntargets:\n  server: {stage: server, output: .}\n' "$1" > devloop.yaml
}

echo "## BuildKit timeline of one server rebuild after a one-line edit"
echo
echo "$("$devloop" version 2>/dev/null | tr '\n' ' ')"
for frontend in auto image; do
  config "$frontend"
  "$devloop" build server --progress quiet >/dev/null # warm: base image, module and build caches
  for i in $(seq "$repeats"); do
    edit
    start=$(date +%s.%N)
    "$devloop" build server --progress rawjson 2>"$work/raw.json" >"$work/out.txt"
    end=$(date +%s.%N)
    echo
    echo "### builder.frontend: $frontend — run $i: \`devloop build server\` took $(awk "BEGIN{printf \"%.3f\", $end-$start}")s wall ($(grep -o 'solve [0-9.]* · export [0-9.]* · swap [0-9.]*' "$work/out.txt"))"
    echo
    "$work/trace" --md "$work/raw.json"
  done
done

echo
echo "### The same edit built on the host (\`go build -o bin/server ./cmd/server\`, warm cache)"
echo
go build -o "$work/server" ./cmd/server
for i in $(seq "$repeats"); do
  edit
  start=$(date +%s.%N)
  go build -ldflags "-X main.version=dev" -o "$work/server" ./cmd/server
  end=$(date +%s.%N)
  echo "- run $i: $(awk "BEGIN{printf \"%.3f\", $end-$start}")s"
done

echo
echo "### Starting one RUN container (\`RUN echo \$X\` on golang:1.26-alpine, X new each time)"
echo
mkdir -p "$work/run" && cd "$work/run"
printf 'FROM docker.io/library/golang:1.26-alpine\nARG X\nRUN echo $X\n' > Dockerfile
for i in $(seq "$repeats"); do
  buildctl build --frontend dockerfile.v0 --local context=. --local dockerfile=. \
    --opt build-arg:X="$RANDOM$i" --progress rawjson 2>"$work/run.json"
  echo "- run $i: $("$work/trace" "$work/run.json" | grep ' RUN ' | awk '{print $2}')"
done
