#!/usr/bin/env bash
# N Docker hosts on one machine, each with its own dockerd and weave-ipam peer, on one LAN.
#   up N    start hosts 1..N (refused if this state directory is already up)
#   down    stop and remove everything `up` recorded; idempotent, never touches anything else
#   status  one line per host: its namespace, dockerd, weave-ipam status
#   env I   print `export DOCKER_HOST=...` for host I
#   kill I  SIGKILL host I's weave-ipam (a crash: no shutdown, no final write)
#   start I start host I's weave-ipam again, with the same state and flags as `up` gave it
# Host I is a network namespace PREFIX-hI whose veth lan0 (10.200.0.I/24) is a port of the
# bridge "lan". That bridge lives in a namespace of its own, PREFIX-lan: in the root
# namespace, Docker's br_netfilter and FORWARD DROP policy would drop the bridged traffic,
# and we leave the root namespace's firewall alone. In host I:
#   - dockerd, in a private mount namespace (unshare -m; not `ip netns exec`, which remounts
#     /sys and hides the cgroups) that bind-mounts hI/plugins over /run/docker/plugins, with
#     its own config file, data and exec roots, pidfile, socket hI/docker.sock, trust key (so
#     its own ID) and containerd namespaces; --bridge none, no iptables. The test image is imported.
#   - weave-ipam launch: plugin socket hI/plugins/weave.sock (Docker sees driver "weave"),
#     admin socket hI/admin.sock, status on http://10.200.0.I:6784, gossip on :6783, the
#     other hosts as peers, --ipalloc-init consensus=N, range $WIPAM_HOSTS_RANGE.
# With WIPAM_HOSTS_PLUGIN=managed, host I's weave-ipam is instead the managed (v2) plugin
# weave-ipam:latest in its dockerd (scripts/build-plugin.sh from the static binary
# WIPAM_STATIC_BINARY, default build/static/weave-ipam), with PEERS, IPALLOC_RANGE,
# IPALLOC_INIT and its state, admin socket and Docker socket in hI/; networks then use
# --ipam-driver weave-ipam:latest. `kill` and `start` need the legacy peers.
# Environment: WIPAM_BIN (the weave-ipam binary; default build/release, else build/asan),
# WIPAM_HOSTS_DIR (state, default /tmp/wipam-hosts), WIPAM_HOSTS_PREFIX (namespace names,
# default wipam), WIPAM_HOSTS_RANGE (default 10.60.0.0/16), WIPAM_HOSTS_ARGS (more launch
# flags). Needs root, iproute2, util-linux and `scripts/setup.sh docker`.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${WIPAM_HOSTS_DIR:-/tmp/wipam-hosts}
prefix=${WIPAM_HOSTS_PREFIX:-wipam}
range=${WIPAM_HOSTS_RANGE:-10.60.0.0/16}
lan_ns=$prefix-lan
mode=${WIPAM_HOSTS_PLUGIN:-legacy}
[[ $mode =~ ^(legacy|managed)$ ]] || { echo "hosts.sh: WIPAM_HOSTS_PLUGIN is legacy or managed" >&2; exit 2; }
static_bin=${WIPAM_STATIC_BINARY:-$repo/build/static/weave-ipam}
plugin_name=weave-ipam:latest

say() { echo "hosts.sh: $*" >&2; }
die() { say "$*"; exit 1; }
ns_of() { echo "$prefix-h$1"; }
addr_of() { echo "10.200.0.$1"; }
dir_of() { echo "$state/h$1"; }
dk() { local i=$1; shift; docker -H "unix://$(dir_of "$i")/docker.sock" "$@"; }
docker_up() { dk "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
# Every line of the record is something up created: "netns NAME" or "host I".
record() { echo "$*" >>"$state/created"; }
recorded() { [ -f "$state/created" ] && grep -x "$1" "$state/created" >/dev/null; }
hosts() { [ -f "$state/created" ] && sed -n 's/^host //p' "$state/created" || true; }

# A PID from FILE, only while that process still runs PROGRAM (any, if empty) with our state
# directory in its command line: a stale file or a reused PID never names someone else's.
our_pid() {
  local file=$1 program=${2:-} pid
  [ -s "$file" ] || return 1
  pid=$(cat "$file")
  [[ $pid =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$state/" || return 1
  [ -z "$program" ] || [ "$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)")" = "$program" ] ||
    return 1
  echo "$pid"
}

# stop_pids SECONDS PID...: SIGTERM to all, then SIGKILL to those left after SECONDS;
# returns once all are gone.
stop_pids() {
  local secs=$1 pid left=() alive
  shift
  [ $# -gt 0 ] || return 0
  kill "$@" 2>/dev/null || true
  for _ in $(seq $((secs * 10))); do
    left=()
    for pid in "$@"; do [ -d "/proc/$pid" ] && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  say "pids ${left[*]} did not stop in $secs s, killing them"
  kill -9 "${left[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    alive=0
    for pid in "${left[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
}

# Kills PID's descendants, deepest first (a shim's containers, if their dockerd is gone).
kill_tree() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -9 "$1" 2>/dev/null || true
}

make_lan() {
  ip netns add "$lan_ns"
  record "netns $lan_ns"
  ip -n "$lan_ns" link add lan type bridge
  ip -n "$lan_ns" link set lan up
  # Bridged frames skip iptables in this namespace (its own sysctl): it is just a switch.
  nsenter --net="/var/run/netns/$lan_ns" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
    2>/dev/null || true
}

make_host_net() {
  local i=$1 ns
  ns=$(ns_of "$i")
  ip netns add "$ns"
  record "netns $ns"
  ip -n "$lan_ns" link add "h$i" type veth peer name lan0 netns "$ns"
  ip -n "$lan_ns" link set "h$i" master lan up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$(addr_of "$i")/24" dev lan0
  ip -n "$ns" link set lan0 up
}

start_peer() {
  local i=$1 n=$2 d peers=() j
  d=$(dir_of "$i")
  for j in $(seq "$n"); do [ "$j" = "$i" ] || peers+=("$(addr_of "$j")"); done
  read -ra extra <<<"${WIPAM_HOSTS_ARGS:-}"
  # setsid: its own session, so it outlives this script's process group. A background
  # command is no group leader, so setsid execs in place and $! stays its PID.
  setsid nsenter --net="/var/run/netns/$(ns_of "$i")" "$bin" launch --db-path "$d/weave" \
    --plugin-socket "$d/plugins/weave.sock" --admin-socket "$d/admin.sock" \
    --http-addr "$(addr_of "$i"):6784" --docker-api "unix://$d/docker.sock" \
    --ipalloc-range "$range" --ipalloc-init "consensus=$n" --nickname "host$i" \
    "${extra[@]}" "${peers[@]}" >>"$d/weave.log" 2>&1 </dev/null &
  echo $! >"$d/weave.pid"
}

# The managed plugin in host I's dockerd, configured like start_peer's process.
start_plugin() {
  local i=$1 n=$2 d peers=() j
  d=$(dir_of "$i")
  for j in $(seq "$n"); do [ "$j" = "$i" ] || peers+=("$(addr_of "$j")"); done
  mkdir -p "$d/weave" "$d/admin"
  ln -sfn "$d/admin/admin.sock" "$d/admin.sock"  # where the legacy peer's socket would be
  DOCKER_HOST="unix://$d/docker.sock" WIPAM_STATIC_BINARY="$static_bin" \
    "$repo/scripts/build-plugin.sh" "$plugin_name" >/dev/null
  dk "$i" plugin set "$plugin_name" IPALLOC_RANGE="$range" IPALLOC_INIT="consensus=$n" \
    PEERS="${peers[*]}" state.source="$d/weave" admin.source="$d/admin" \
    docker.source="$d/docker.sock" \
    EXTRA_ARGS="--http-addr $(addr_of "$i"):6784 --nickname host$i ${WIPAM_HOSTS_ARGS:-}"
  dk "$i" plugin enable "$plugin_name" >/dev/null
}

# dockerd for host I, with extra flags (e.g. a storage driver); it writes its own pidfile.
start_dockerd() {
  local i=$1 d
  shift
  d=$(dir_of "$i")
  rm -f "$d/dockerd.pid"
  # Its own config: not the machine's /etc/docker/daemon.json, and its own trust key, which
  # is what a 20.10 dockerd's ID (`docker info`) comes from.
  echo "{\"deprecated-key-path\": \"$d/key.json\"}" >"$d/daemon.json"
  setsid unshare -m --propagation private nsenter --net="/var/run/netns/$(ns_of "$i")" \
    sh -c 'mount --make-rprivate / && mkdir -p /run/docker/plugins &&
           mount --bind "$0" /run/docker/plugins && exec dockerd "$@"' "$d/plugins" \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    -H "unix://$d/docker.sock" --config-file "$d/daemon.json" \
    --bridge none --iptables=false --ip-masq=false --ip-forward=false \
    --containerd-namespace "$(ns_of "$i")" \
    --containerd-plugins-namespace "$(ns_of "$i")-plugins" "$@" \
    >>"$d/dockerd.log" 2>&1 </dev/null &
  echo $! >"$d/dockerd.launch"
}

# Waits (90 s at most) for host I's dockerd to answer; fails early if it exits.
wait_dockerd() {
  local i=$1 d launch
  d=$(dir_of "$i")
  launch=$(cat "$d/dockerd.launch")
  for _ in $(seq 180); do
    docker_up "$i" && return 0
    [ -d "/proc/$launch" ] || return 1
    sleep 0.5
  done
  return 1
}

up() {
  local n=${1:-}
  [[ $n =~ ^[1-9][0-9]?$ ]] && [ "$n" -le 50 ] || die "usage: $0 up N (1..50 hosts)"
  [ "$(id -u)" -eq 0 ] || die "run as root: hosts need network and mount namespaces"
  for tool in ip nsenter unshare setsid dockerd docker; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh docker)"
  done
  bin=${WIPAM_BIN:-}
  if [ -z "$bin" ]; then
    for b in "$repo/build/release/weave-ipam" "$repo/build/asan/weave-ipam"; do
      [ -x "$b" ] && bin=$b && break
    done
  fi
  [ -n "$bin" ] && [ -x "$bin" ] || die "no weave-ipam binary: set WIPAM_BIN or build it"
  bin=$(readlink -f "$bin")
  if [ "$mode" = managed ]; then
    [ -x "$static_bin" ] || die "no static binary $static_bin for the managed plugin (scripts/build-static.sh)"
    static_bin=$(readlink -f "$static_bin")
  fi
  [ -e "$state/created" ] && die "$state is already up (run: $0 down)"
  for name in "$lan_ns" $(for i in $(seq "$n"); do ns_of "$i"; done); do
    [ -e "/var/run/netns/$name" ] && die "network namespace $name exists and is not ours"
  done

  mkdir -p "$state"
  : >"$state/created"
  echo "$bin" >"$state/bin"
  # What `start I` needs to launch a peer again exactly as up did.
  echo "$range" >"$state/range"
  echo "${WIPAM_HOSTS_ARGS:-}" >"$state/args"
  echo "$mode" >"$state/mode"
  # Any failure or interruption from here on takes down whatever was started.
  up_ok=0
  trap '[ "$up_ok" = 1 ] || { say "up failed; cleaning up"; down; }' EXIT
  trap 'exit 130' INT TERM HUP
  make_lan
  for i in $(seq "$n"); do
    mkdir -p "$(dir_of "$i")"/{plugins,data,exec}
    record "host $i"
    make_host_net "$i"
  done
  if [ "$mode" = legacy ]; then
    for i in $(seq "$n"); do start_peer "$i" "$n"; done
  fi
  for i in $(seq "$n"); do start_dockerd "$i"; done
  local storage=()
  for i in $(seq "$n"); do
    wait_dockerd "$i" && continue
    # overlay2 does not work on every filesystem (e.g. overlay on overlay); vfs does.
    say "host $i: dockerd did not start with the default storage driver, trying vfs"
    storage=(--storage-driver vfs)
    start_dockerd "$i" "${storage[@]}"
    wait_dockerd "$i" || { tail -n 20 "$(dir_of "$i")/dockerd.log" >&2; die "host $i: dockerd did not start"; }
  done
  for i in $(seq "$n"); do
    local d
    d=$(dir_of "$i")
    if [ "$mode" = legacy ]; then
      our_pid "$d/weave.pid" "$(basename "$bin")" >/dev/null ||
        { tail -n 20 "$d/weave.log" >&2; die "host $i: weave-ipam is not running"; }
    fi
    "$repo/scripts/docker-env.sh" import "$d/docker.sock"
  done
  if [ "$mode" = managed ]; then
    for i in $(seq "$n"); do start_plugin "$i" "$n" || die "host $i: the managed plugin did not start"; done
  else
    for i in $(seq "$n"); do
      for _ in $(seq 100); do [ -S "$(dir_of "$i")/plugins/weave.sock" ] && break; sleep 0.1; done
      [ -S "$(dir_of "$i")/plugins/weave.sock" ] || die "host $i: no plugin socket"
    done
  fi
  up_ok=1
  trap - INT TERM HUP
  for i in $(seq "$n"); do
    echo "host $i: netns $(ns_of "$i"), LAN $(addr_of "$i"), docker -H unix://$(dir_of "$i")/docker.sock, weave-ipam --admin-socket $(dir_of "$i")/admin.sock"
  done
}

down() {
  [ -f "$state/created" ] || { say "nothing is up in $state"; rm -rf "$state"; return 0; }
  local i d pid ns dockerds=() peers=()
  local exe=weave-ipam
  [ -s "$state/bin" ] && exe=$(basename "$(cat "$state/bin")")
  for i in $(hosts); do
    d=$(dir_of "$i")
    if pid=$(our_pid "$d/dockerd.pid" dockerd); then
      # Containers first (SIGKILL, quick), so dockerd's shutdown has nothing to wait out.
      # shellcheck disable=SC2046
      dk "$i" rm -f $(dk "$i" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
      dockerds+=("$pid")
    fi
    # The launch process, if dockerd never wrote its pidfile (still the sh before exec).
    if pid=$(our_pid "$d/dockerd.launch"); then dockerds+=("$pid"); fi
    if pid=$(our_pid "$d/weave.pid" "$exe"); then peers+=("$pid"); fi
  done
  # All hosts at once: each dockerd takes about 3 s to stop, a weave-ipam after it about 2.
  stop_pids 30 "${dockerds[@]}"
  stop_pids 10 "${peers[@]}"
  # Whatever still runs in our namespaces (containerd, shims) was started by us.
  for ns in $(sed -n 's/^netns //p' "$state/created" | tac); do
    [ -e "/var/run/netns/$ns" ] || continue
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      say "still in $ns: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)"
      kill_tree "$pid"
    done
    ip netns del "$ns" || say "could not delete network namespace $ns"
  done
  rm -rf "$state"
  say "down"
}

# kill_peer I: SIGKILL host I's weave-ipam and wait until it is gone.
kill_peer() {
  local d pid exe=weave-ipam
  [[ ${1:-} =~ ^[0-9]+$ ]] && recorded "host $1" || die "usage: $0 kill I (a host that is up)"
  [ "$(cat "$state/mode" 2>/dev/null)" != managed ] || die "kill needs the legacy peers"
  d=$(dir_of "$1")
  [ -s "$state/bin" ] && exe=$(basename "$(cat "$state/bin")")
  pid=$(our_pid "$d/weave.pid" "$exe") || die "host $1: weave-ipam is not running"
  kill -9 "$pid"
  for _ in $(seq 50); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
  die "host $1: weave-ipam $pid survived SIGKILL"
}

# restart_peer I: host I's weave-ipam again (its state survives), once its socket answers.
restart_peer() {
  local d exe=weave-ipam
  [[ ${1:-} =~ ^[0-9]+$ ]] && recorded "host $1" || die "usage: $0 start I (a host that is up)"
  [ "$(cat "$state/mode" 2>/dev/null)" != managed ] || die "start needs the legacy peers"
  d=$(dir_of "$1")
  bin=$(cat "$state/bin")
  range=$(cat "$state/range")
  WIPAM_HOSTS_ARGS=$(cat "$state/args")
  our_pid "$d/weave.pid" "$(basename "$bin")" >/dev/null && die "host $1: weave-ipam is running"
  start_peer "$1" "$(hosts | wc -l)"
  for _ in $(seq 100); do
    "$bin" --admin-socket "$d/admin.sock" status >/dev/null 2>&1 && return 0
    our_pid "$d/weave.pid" "$(basename "$bin")" >/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$d/weave.log" >&2
  die "host $1: weave-ipam did not start again"
}

status() {
  [ -f "$state/created" ] || { echo "nothing is up in $state"; return 0; }
  local i d pid line exe=weave-ipam
  [ -s "$state/bin" ] && exe=$(basename "$(cat "$state/bin")")
  for i in $(hosts); do
    d=$(dir_of "$i")
    line="host $i: netns $(ns_of "$i")"
    [ -e "/var/run/netns/$(ns_of "$i")" ] || line+=" (missing)"
    if pid=$(our_pid "$d/dockerd.pid" dockerd) && docker_up "$i"; then
      line+=", dockerd $pid ($(dk "$i" ps -q | wc -l) running)"
    else
      line+=", dockerd down"
    fi
    if [ "$(cat "$state/mode" 2>/dev/null)" = managed ] && pid=plugin ||
      pid=$(our_pid "$d/weave.pid" "$exe"); then
      line+=", weave-ipam $pid: $("$(cat "$state/bin")" --admin-socket "$d/admin.sock" status 2>&1 | sed -n 's/^ *Status: *//p' | head -1)"
    else
      line+=", weave-ipam down"
    fi
    echo "$line"
  done
}

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down ;;
  status) status ;;
  env)
    [[ ${2:-} =~ ^[0-9]+$ ]] || die "usage: $0 env I"
    echo "export DOCKER_HOST=unix://$(dir_of "$2")/docker.sock" ;;
  kill) kill_peer "${2:-}" ;;
  start) restart_peer "${2:-}" ;;
  *) echo "usage: $0 up N | down | status | env I | kill I | start I" >&2; exit 2 ;;
esac
