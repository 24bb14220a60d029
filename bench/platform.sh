#!/usr/bin/env bash
# Measures a cross-compiled rebuild next to a native one, in the same run: a copy of
# examples/greeter with two targets of the same stage, server-native (the daemon's
# platform) and server-darwin (platform: darwin/arm64, cross-compiled); after each of
# N edits of internal/greeting (which both compile), `devloop build` rebuilds one
# target, then the other (alternating which goes first), and the "rebuilt in" and
# "solve" figures of their status lines are collected. Prints every pair and the
# medians. Needs BUILDKIT_HOST (make testbed) and bin/devloop (make build).
set -euo pipefail
n=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
devloop=${DEVLOOP:-$root/bin/devloop}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp -r "$root/examples/greeter/." "$dir/"
cat >"$dir/devloop.yaml" <<'YAML'
targets:
  server-native:
    stage: server
    output: out/native
  server-darwin:
    stage: server
    output: out/darwin
    platform: darwin/arm64
YAML
cd "$dir"
"$devloop" build --progress quiet >/dev/null # warm: both targets' caches

# build TARGET: one build, prints "TOTAL SOLVE" from the target's status line.
build() {
  "$devloop" build --progress quiet "$1" |
    sed -nE "s/^$1( \([^)]*\))?: rebuilt in ([0-9.]+)s \(solve ([0-9.]+) .*/\2 \3/p"
}
# edit N: a text no earlier run used, so that no build is a cache hit.
run=$(date +%s%N)
edit() {
  sed -i "s/^const Text = .*/const Text = \"hello $run-$1\"/" internal/greeting/greeting.go
}
native=() darwin=()
for i in $(seq "$n"); do
  edit "$i"
  if ((i % 2)); then
    a=$(build server-native) b=$(build server-darwin)
  else
    b=$(build server-darwin) a=$(build server-native)
  fi
  [[ -n $a && -n $b ]] || { echo "edit $i: a build did not report a rebuild" >&2; exit 1; }
  printf 'edit %2d  native: rebuilt in %ss (solve %ss)   darwin/arm64: rebuilt in %ss (solve %ss)\n' "$i" ${a} ${b}
  native+=("${a%% *}") darwin+=("${b%% *}")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
printf 'median of %d: native %ss, cross-compiled darwin/arm64 %ss\n' "$n" "$(median "${native[@]}")" "$(median "${darwin[@]}")"
