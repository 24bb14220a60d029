#!/usr/bin/env bash
# Builds the testbed's binaries (buildkitd, buildctl, the Dockerfile frontend, crane)
# from the Go module proxy into $DEVLOOP_CACHE/bin. Idempotent: binaries already built
# for the pinned versions are reused. About 4 minutes cold on 2 cores.
set -euo pipefail

BUILDKIT_VERSION=${BUILDKIT_VERSION:-v0.34.2}
CRANE_VERSION=${CRANE_VERSION:-v0.21.5}
CACHE=${DEVLOOP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devloop}
BIN=$CACHE/bin
STAMP=$BIN/.versions
WANT="buildkit=$BUILDKIT_VERSION crane=$CRANE_VERSION"

mkdir -p "$BIN"
if [[ -f $STAMP && $(cat "$STAMP") == "$WANT" ]] &&
  for b in buildkitd buildctl dockerfile-frontend crane; do [[ -x $BIN/$b ]] || exit 1; done; then
  echo "testbed tools: up to date in $BIN ($WANT)"
  exit 0
fi

export GOFLAGS=-mod=mod GOTOOLCHAIN=local
work=$CACHE/toolmod
mkdir -p "$work"
cd "$work"

# buildkit's go.mod has exclude directives, so `go install pkg@version` refuses its
# commands. A helper module that copies buildkit's own go.mod (its requirements and its
# exclude block) builds them with exactly the dependency versions upstream tested.
gomod=$(go mod download -json "github.com/moby/buildkit@$BUILDKIT_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
awk -v v="$BUILDKIT_VERSION" '
  /^module / { print "module devloop-testbed-tools"; next }
  /^tool \(/ { skip=1; next }
  skip && /^\)/ { skip=0; next }
  skip { next }
  /^require \(/ && !done { print; print "\tgithub.com/moby/buildkit " v; done=1; next }
  { print }
' "$gomod" >go.mod
printf 'package tools\n' >tools.go
rm -f go.sum

ldflags="-s -w -X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION -X github.com/moby/buildkit/version.Revision=devloop-testbed"
echo "testbed tools: building buildkitd, buildctl, dockerfile-frontend $BUILDKIT_VERSION (cold: ~4 min)"
go build -ldflags "$ldflags" -o "$BIN/buildkitd" github.com/moby/buildkit/cmd/buildkitd
go build -ldflags "$ldflags" -o "$BIN/buildctl" github.com/moby/buildkit/cmd/buildctl
CGO_ENABLED=0 go build -ldflags "$ldflags" -o "$BIN/dockerfile-frontend" github.com/moby/buildkit/frontend/dockerfile/cmd/dockerfile-frontend

echo "testbed tools: building crane $CRANE_VERSION"
GOBIN=$BIN GOFLAGS= go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"

echo "$WANT" >"$STAMP"
echo "testbed tools: ready in $BIN"
