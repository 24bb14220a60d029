#!/usr/bin/env bash
# The testbed's Docker Engine and BuildKit container: the two other kinds of builder
# devloop supports (docker:// and docker-container://), as users get them.
#
#   docker.sh up REGISTRY   installs docker.io when missing, starts dockerd and the
#                           BuildKit container unless they already run; idempotent
#   docker.sh down          stops both and unmounts what dockerd leaves mounted
#
# dockerd (Debian's docker.io: Docker 20.10, API 1.41, embedded BuildKit v0.8) keeps
# everything under $STATE/docker: --data-root, --exec-root, --pidfile, its socket is
# $STATE/docker.sock. It never touches the machine's firewall or sysctls
# (--iptables=false --ip6tables=false --ip-forward=false): containers on the default
# bridge (which Docker 20.10 runs every RUN step on; --bridge=none breaks them) have
# no route off the machine, and nothing in them may need one. Its daemon.json makes
# the testbed's loopback registry the mirror of docker.io, so FROM golang:… and
# `# syntax=docker/dockerfile:1` resolve offline.
#
# The BuildKit container runs an image imported from the testbed's own binaries
# (buildkitd, buildctl, runc, busybox; no registry pull), named like a buildx
# builder's container. `--privileged` cannot start a container on these machines (the
# sandbox's bounding set lacks CAP_SYS_RESOURCE, which Docker 20.10's --privileged
# always asks for), so it gets the same powers one by one, and its entrypoint remounts
# the cgroup mounts read-write as --privileged would have them.
#
# Settings (environment): DEVLOOP_TESTBED_DIR, DEVLOOP_CACHE as for up.sh.
set -euo pipefail

STATE=${DEVLOOP_TESTBED_DIR:-/var/lib/devloop-testbed}
CACHE=${DEVLOOP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/devloop}
BIN=$CACHE/bin
DIR=$STATE/docker
SOCK=$STATE/docker.sock
BUILDER=devloop-testbed
CONTAINER=buildx_buildkit_${BUILDER}0
# The scripts use the client that came with the engine; devloop's docker-container://
# runs whichever `docker` is first on PATH (a newer client negotiates API 1.41).
DOCKER=/usr/bin/docker

log() { echo "testbed: $*" >&2; }
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
dk() { "$DOCKER" -H "unix://$SOCK" "$@"; }
answers() { dk version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; }

# unmount_below DIR: unmounts everything mounted below DIR, deepest first (the netns
# bind mount under the exec root, overlay mounts of containers killed uncleanly).
unmount_below() {
  local m
  awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

install_engine() {
  command -v dockerd >/dev/null && [[ -x $DOCKER ]] && return
  log "installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  # The package's scripts must not start a system dockerd (it would add iptables
  # rules): policy-rc.d forbids service starts during the install.
  local policy=/usr/sbin/policy-rc.d made=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made=1
  fi
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends docker.io >&2 || { ((made)) && rm -f "$policy"; exit 1; }
  ((made)) && rm -f "$policy"
  return 0
}

start_dockerd() {
  local reg=$1
  mkdir -p "$DIR"
  cat >"$DIR/daemon.json" <<JSON
{
  "registry-mirrors": ["http://$reg"],
  "insecure-registries": ["$reg"]
}
JSON
  # With dockerd not running, whatever is mounted below its directories is left from
  # a daemon that was killed (the netns bind mount, containers' overlays).
  unmount_below "$DIR"
  rm -f "$SOCK"
  log "starting dockerd on unix://$SOCK"
  # Detached, in its own session, holding none of this script's output: a caller
  # reading it through a pipe ($(up.sh --env)) must see it end.
  (cd / && exec setsid dockerd --config-file "$DIR/daemon.json" \
    --data-root "$DIR/root" --exec-root "$DIR/exec" --pidfile "$DIR/dockerd.pid" \
    -H "unix://$SOCK" --iptables=false --ip6tables=false --ip-forward=false \
    >>"$DIR/dockerd.log" 2>&1 </dev/null) &
  for _ in $(seq 300); do
    answers && break
    sleep 0.1
  done
  answers || { log "dockerd does not answer on unix://$SOCK: $(tail -20 "$DIR/dockerd.log")"; exit 1; }
  echo "$reg" >"$DIR/registry"
}

stop_dockerd() {
  if alive "$DIR/dockerd.pid"; then
    local pid
    pid=$(cat "$DIR/dockerd.pid")
    kill "$pid"
    # dockerd stops its containers (10 s grace each) and its containerd first.
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd (pid $pid) did not stop in 30 s; killing it"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$DIR/dockerd.pid" "$SOCK"
  [[ -d $DIR ]] && unmount_below "$DIR"
  return 0
}

# image_tag names the BuildKit image after what goes into it, so new binaries or a new
# entrypoint are imported again.
image_tag() {
  {
    cat "$BIN/.versions"
    runc --version
    entrypoint
  } | sha256sum | cut -c1-12
}

entrypoint() {
  cat <<'SH'
#!/bin/sh
# Remounts the cgroup mounts read-write, as --privileged would leave them, so that
# runc can create the build containers' cgroups; then runs buildkitd.
set -e
for m in $(awk '$3 == "cgroup" || $3 == "cgroup2" || $2 == "/sys/fs/cgroup" { print $2 }' /proc/self/mounts); do
  mount -o remount,bind,rw "$m"
done
exec buildkitd "$@"
SH
}

import_image() {
  local image=$1 root lib
  dk image inspect "$image" >/dev/null 2>&1 && return
  log "importing $image (buildkitd, buildctl, runc, busybox)"
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,usr/bin,etc/buildkit,tmp,run,var/lib/buildkit,root}
  chmod 1777 "$root/tmp"
  cp "$(command -v busybox || echo /bin/busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list-full); do
    [[ -e $root/$applet ]] || { mkdir -p "$root/$(dirname "$applet")"; ln -s /bin/busybox "$root/$applet"; }
  done
  cp "$BIN/buildkitd" "$BIN/buildctl" "$root/usr/bin/"
  cp "$(command -v runc)" "$root/usr/bin/runc"
  # The binaries' shared libraries (glibc, libseccomp), at the paths they were linked with.
  for lib in $(ldd "$BIN/buildkitd" "$BIN/buildctl" "$root/usr/bin/runc" |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && NF > 1 { print $1 }' | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  entrypoint >"$root/entrypoint.sh"
  chmod +x "$root/entrypoint.sh"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  tar --owner=0 --group=0 --numeric-owner -C "$root" -c . |
    dk import --change 'ENTRYPOINT ["/entrypoint.sh"]' - "$image" >/dev/null
  rm -rf "$root"
}

start_container() {
  local reg=$1 image=$2
  # A restarted dockerd restarts the container (--restart unless-stopped): it is
  # reused when it runs the right image for the right registry.
  if [[ $(dk inspect -f '{{.State.Running}} {{.Config.Image}}' "$CONTAINER" 2>/dev/null) != "true $image" ||
    $(cat "$DIR/buildkitd.registry" 2>/dev/null) != "$reg" ]]; then
    run_container "$reg" "$image"
  fi
  for _ in $(seq 300); do
    dk exec "$CONTAINER" buildctl debug workers >/dev/null 2>&1 && return
    sleep 0.1
  done
  log "BuildKit container $CONTAINER does not answer: $(dk logs --tail 20 "$CONTAINER" 2>&1)"
  exit 1
}

run_container() {
  local reg=$1 image=$2
  dk rm -f "$CONTAINER" >/dev/null 2>&1 || true
  cat >"$DIR/buildkitd.toml" <<TOML
[worker.oci]
  enabled = true
  gc = true
  gckeepstorage = "4GB"
[worker.containerd]
  enabled = false
[registry."docker.io"]
  mirrors = ["$reg"]
[registry."$reg"]
  http = true
TOML
  log "starting BuildKit container $CONTAINER"
  dk run -d --name "$CONTAINER" --restart unless-stopped \
    --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    --device-cgroup-rule 'a *:* rwm' --network host \
    -v "${CONTAINER}_state:/var/lib/buildkit" \
    -v "$DIR/buildkitd.toml:/etc/buildkit/buildkitd.toml:ro" \
    "$image" >/dev/null
  echo "$reg" >"$DIR/buildkitd.registry"
}

case ${1:-} in
up)
  reg=${2:?usage: docker.sh up REGISTRY}
  install_engine
  if alive "$DIR/dockerd.pid" && [[ $(cat "$DIR/registry" 2>/dev/null) != "$reg" ]]; then
    log "registry moved to $reg: restarting dockerd"
    stop_dockerd
  fi
  alive "$DIR/dockerd.pid" && answers || { stop_dockerd; start_dockerd "$reg"; }
  image=devloop-testbed/buildkit:$(image_tag)
  import_image "$image"
  start_container "$reg" "$image"
  ;;
down)
  stop_dockerd
  ;;
check)
  # Exit 0 when the engine and the BuildKit container run for registry $2.
  alive "$DIR/dockerd.pid" && [[ $(cat "$DIR/registry" 2>/dev/null) == "${2:-}" ]] &&
    [[ $(dk inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null) == true ]]
  ;;
*)
  echo "usage: docker.sh up REGISTRY | down | check REGISTRY" >&2
  exit 2
  ;;
esac
