#!/usr/bin/env bash
# Stands up the offline BuildKit testbed: a loopback registry holding a synthesized
# golang:1.26-alpine (busybox + the host's Go) and docker/dockerfile:1 (the frontend),
# a rootful buildkitd (OCI worker, runc, overlayfs) that mirrors docker.io to that
# registry, and (docker.sh) a Docker Engine with a BuildKit container in it, both
# mirroring docker.io to the same registry. Idempotent: a testbed that is already up is
# reused in well under a second; a part that is down is started without restarting the
# others.
#
# Prints the BuildKit address; also writes "$STATE/env" to be sourced:
#   eval "$(hack/testbed/up.sh --env)"
#
# Settings (environment):
#   DEVLOOP_TESTBED_DIR    state directory           (default /var/lib/devloop-testbed)
#   DEVLOOP_REGISTRY_PORT  first port to try          (default 5055; the next free one is used)
#   DEVLOOP_CACHE          where built tools are kept (default ~/.cache/devloop)
#   DEVLOOP_TESTBED_DOCKER 0: no Docker Engine (a private testbed next to the shared
#                          one: two engines would share the default bridge docker0)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${DEVLOOP_TESTBED_DIR:-/var/lib/devloop-testbed}
CACHE=${DEVLOOP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devloop}
BIN=$CACHE/bin
PORT=${DEVLOOP_REGISTRY_PORT:-5055}
SOCK=$STATE/buildkitd.sock
ADDR=unix://$SOCK
ENGINE=${DEVLOOP_TESTBED_DOCKER:-1}
want_env=0
[[ ${1:-} == --env ]] && want_env=1

log() { echo "testbed: $*" >&2; }
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

print_env() {
  if ((want_env)); then cat "$STATE/env"; else echo "$ADDR"; fi
}

mkdir -p "$STATE"

# Fast path: everything already up and answering.
if alive "$STATE/registry.pid" && alive "$STATE/buildkitd.pid" && [[ -f $STATE/env ]] &&
  { [[ $ENGINE == 0 ]] || grep -q DEVLOOP_TESTBED_DOCKER_HOST "$STATE/env"; } &&
  "$BIN/buildctl" --addr "$ADDR" --timeout 5 debug workers >/dev/null 2>&1 &&
  { [[ $ENGINE == 0 ]] || bash "$here/docker.sh" check "127.0.0.1:$(cat "$STATE/registry.port")"; }; then
  log "already up ($ADDR)"
  print_env
  exit 0
fi

# 1. Packages and tools.
need=()
command -v runc >/dev/null || need+=(runc)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || need+=(ca-certificates)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need[@]}" >&2
fi
bash "$here/tools.sh" >&2
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || BUSYBOX=$(command -v busybox)

# 2. Loopback registry (crane keeps tags in memory: images are re-pushed on every start).
if alive "$STATE/registry.pid"; then
  PORT=$(cat "$STATE/registry.port")
else
  while port_busy "$PORT"; do PORT=$((PORT + 1)); done
  mkdir -p "$STATE/registry"
  setsid "$BIN/crane" registry serve --address "127.0.0.1:$PORT" --disk "$STATE/registry" \
    >"$STATE/registry.log" 2>&1 </dev/null &
  echo $! >"$STATE/registry.pid"
  echo "$PORT" >"$STATE/registry.port"
  for _ in $(seq 100); do port_busy "$PORT" && break; sleep 0.1; done
  port_busy "$PORT" || { log "registry did not start: $(tail -5 "$STATE/registry.log")"; exit 1; }
  rm -f "$STATE/images.pushed"
fi
REG=127.0.0.1:$PORT

# 3. Images: golang:1.26-alpine (+ 1.26, alpine) and docker/dockerfile:1.
goversion=$(go env GOVERSION)
if [[ ! -f $STATE/images.pushed || $(cat "$STATE/images.pushed") != "$goversion" ]]; then
  layers=$CACHE/layers
  mkdir -p "$layers"
  if [[ ! -f $layers/base.tar ]]; then
    log "building base layer (busybox)"
    root=$(mktemp -d)
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/ssl/certs,tmp,root,go,src}
    chmod 1777 "$root/tmp"
    cp "$BUSYBOX" "$root/bin/busybox"
    for applet in $("$BUSYBOX" --list-full); do
      [[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
    tar --owner=0 --group=0 --numeric-owner -C "$root" -cf "$layers/base.tar.tmp" .
    mv "$layers/base.tar.tmp" "$layers/base.tar"
    rm -rf "$root"
  fi
  if [[ ! -f $layers/go-$goversion.tar ]]; then
    log "building Go layer ($goversion from $(go env GOROOT))"
    tar --owner=0 --group=0 --numeric-owner --transform "s,^\.,usr/local/go," \
      --exclude=./test --exclude=./doc --exclude=./misc --exclude=./api \
      -C "$(go env GOROOT)" -cf "$layers/go.tar.tmp" .
    mv "$layers/go.tar.tmp" "$layers/go-$goversion.tar"
  fi
  if [[ ! -f $layers/frontend.tar || $layers/frontend.tar -ot $BIN/dockerfile-frontend ]]; then
    root=$(mktemp -d)
    mkdir -p "$root/bin"
    cp "$BIN/dockerfile-frontend" "$root/bin/dockerfile-frontend"
    tar --owner=0 --group=0 --numeric-owner -C "$root" -cf "$layers/frontend.tar" .
    rm -rf "$root"
  fi

  log "pushing images to $REG"
  crane() { "$BIN/crane" --insecure "$@" >/dev/null 2>>"$STATE/crane.log"; }
  gp=$(go env GOPROXY)
  crane append --platform linux/amd64 --oci-empty-base -f "$layers/base.tar" -t "$REG/library/alpine:latest"
  crane mutate --platform linux/amd64 "$REG/library/alpine:latest" \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/sh
  crane append --platform linux/amd64 --oci-empty-base -f "$layers/base.tar" -f "$layers/go-$goversion.tar" -t "$REG/library/golang:1.26-alpine"
  crane mutate --platform linux/amd64 "$REG/library/golang:1.26-alpine" \
    --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env GOLANG_VERSION="${goversion#go}" --env GOPATH=/go --env GOTOOLCHAIN=local \
    --env GOPROXY="$gp" --workdir /go --cmd /bin/sh
  for tag in 1.26 alpine "${goversion#go}-alpine"; do
    crane tag "$REG/library/golang:1.26-alpine" "$tag"
  done
  crane append --platform linux/amd64 --oci-empty-base -f "$layers/frontend.tar" -t "$REG/docker/dockerfile:1"
  crane mutate --platform linux/amd64 "$REG/docker/dockerfile:1" \
    --entrypoint /bin/dockerfile-frontend \
    --label moby.buildkit.frontend.network.none=true \
    --label moby.buildkit.frontend.caps=moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts
  echo "$goversion" >"$STATE/images.pushed"
fi

# 4. buildkitd (OCI worker with runc, rootful, unix socket in the state dir).
cat >"$STATE/buildkitd.toml" <<TOML
root = "$STATE/root"
[grpc]
  address = ["$ADDR"]
[worker.oci]
  enabled = true
  snapshotter = "overlayfs"
  gc = true
  gckeepstorage = "10GB"
[worker.containerd]
  enabled = false
[registry."docker.io"]
  mirrors = ["$REG"]
[registry."$REG"]
  http = true
TOML
start_buildkitd() {
  rm -f "$SOCK"
  log "starting buildkitd on $ADDR"
  PATH=$BIN:$PATH setsid "$BIN/buildkitd" --config "$STATE/buildkitd.toml" \
    >>"$STATE/buildkitd.log" 2>&1 </dev/null &
  echo $! >"$STATE/buildkitd.pid"
}
# A daemon killed a moment ago may still hold its state dir: a start that dies at once
# is retried a few times.
attempts=0
alive "$STATE/buildkitd.pid" || { start_buildkitd; attempts=1; }
for _ in $(seq 300); do
  "$BIN/buildctl" --addr "$ADDR" --timeout 2 debug workers >/dev/null 2>&1 && break
  if ! alive "$STATE/buildkitd.pid"; then
    if ((attempts >= 3)); then
      log "buildkitd exited: $(tail -20 "$STATE/buildkitd.log")"
      exit 1
    fi
    sleep 1
    start_buildkitd
    attempts=$((attempts + 1))
  fi
  sleep 0.1
done
"$BIN/buildctl" --addr "$ADDR" --timeout 5 debug workers >/dev/null || { log "buildkitd does not answer on $ADDR"; exit 1; }

# 5. The Docker Engine (docker://) and a BuildKit container in it (docker-container://).
# DEVLOOP_TESTBED_DOCKER_HOST is not exported as DOCKER_HOST: the tests that use the
# engine set DOCKER_HOST for the commands they run.
engine_env=
if [[ $ENGINE != 0 ]]; then
  bash "$here/docker.sh" up "$REG" >&2
  engine_env="export DEVLOOP_TESTBED_DOCKER_HOST=unix://$STATE/docker.sock
export DEVLOOP_TESTBED_BUILDKIT_CONTAINER=buildx_buildkit_devloop-testbed0"
fi

cat >"$STATE/env" <<ENV
export BUILDKIT_HOST=$ADDR
export DEVLOOP_TESTBED_REGISTRY=$REG
export DEVLOOP_TESTBED_DIR=$STATE
${engine_env:+$engine_env
}export PATH=$BIN:\$PATH
ENV
log "up: BUILDKIT_HOST=$ADDR registry=$REG${engine_env:+ docker=unix://$STATE/docker.sock}"
print_env
