#!/usr/bin/env bash
# Local Docker for weave-ipam's end-to-end tests, with no registry needed.
#   start  install docker.io if missing, start dockerd if nothing answers, build the test image
#   stop   stop dockerd, but only if `start` started it (never someone else's daemon)
#   image  print the test image name
#   import SOCKET  build the test image into the dockerd at unix://SOCKET if it lacks it
#          (scripts/hosts.sh: each of its Docker hosts gets the same image)
# `start` is idempotent: when everything is already up it only runs two quick checks.
set -euo pipefail

image=wipam-test/busybox:latest
log=/tmp/wipam-dockerd.log
pidfile=/tmp/wipam-dockerd.pid
sock=/var/run/docker.sock
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

say() { echo "docker-env: $*" >&2; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# `docker info` can print client-side data while the daemon is down; a server version cannot.
daemon_up() { docker -H "unix://$sock" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_missing() {
  local pkgs=()
  command -v dockerd >/dev/null || pkgs+=(docker.io)
  installed busybox-static || pkgs+=(busybox-static)  # the image needs a static busybox
  command -v iptables >/dev/null || pkgs+=(iptables)  # dockerd's bridge driver calls it
  [ ${#pkgs[@]} -eq 0 ] && return
  say "installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Try the cached package lists first; refresh them only if that fails.
  $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
}

# Starts dockerd with the given extra flags; succeeds once it answers (60 s at most).
try_dockerd() {
  say "starting dockerd ${*:-(default flags)}"
  # Own session, so it outlives this script and whatever process group ran it.
  $sudo setsid dockerd "$@" >>"$log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidfile"
  for _ in $(seq 60); do
    daemon_up && return 0
    [ -d "/proc/$pid" ] || break  # it gave up (bad storage driver, iptables, ...)
    sleep 1
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  return 1
}

start_daemon() {
  daemon_up && return
  rm -f "$pidfile"  # stale: whatever it named is not answering
  : >"$log"
  # Prefer the defaults; vfs works on any filesystem (overlay-on-overlay fails), and a
  # kernel without working iptables can still run bridge networks without NAT rules.
  local ipt=()
  iptables -t nat -L -n >/dev/null 2>&1 || { say "iptables does not work here"; ipt=(--iptables=false); }
  try_dockerd "${ipt[@]}" || try_dockerd --storage-driver vfs "${ipt[@]}" ||
    { [ ${#ipt[@]} -eq 0 ] && try_dockerd --storage-driver vfs --iptables=false; } ||
    { say "dockerd did not start; see $log"; tail -n 20 "$log" >&2; exit 1; }
  say "dockerd up: storage driver $(docker info --format '{{.Driver}}'), flags: $(tr '\0' ' ' </proc/"$(cat "$pidfile")"/cmdline)"
}

# A registry-free busybox image: static busybox plus one symlink per applet in /bin.
# Arguments go to every docker command (e.g. -H unix://SOCKET); none: the local dockerd.
build_image() {
  docker "$@" image inspect "$image" >/dev/null 2>&1 && return
  say "building $image${*:+ in $*}"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,etc,tmp,root,proc,sys,dev}
  cp /bin/busybox "$root/bin/busybox"
  for app in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" --numeric-owner -c . | docker "$@" import -c 'CMD ["sh"]' - "$image" >/dev/null
}

stop_daemon() {
  [ -f "$pidfile" ] || { say "no $pidfile: dockerd was not started by us, leaving it"; return; }
  local pid; pid=$(cat "$pidfile")
  $sudo kill "$pid" 2>/dev/null || true
  for _ in $(seq 30); do [ -d "/proc/$pid" ] || break; sleep 1; done
  rm -f "$pidfile"
  say "stopped dockerd ($pid)"
}

case "${1:-}" in
  start)
    install_missing
    $sudo mkdir -p /run/docker/plugins  # where Docker looks for legacy plugin sockets
    start_daemon
    build_image ;;
  stop) stop_daemon ;;
  image) echo "$image" ;;
  import)
    [ -n "${2:-}" ] || { echo "usage: $0 import SOCKET" >&2; exit 2; }
    build_image -H "unix://$2" ;;
  *) echo "usage: $0 start|stop|image|import SOCKET" >&2; exit 2 ;;
esac
