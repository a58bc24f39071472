#!/usr/bin/env bash
# Every release frees exactly its own allocation, against a real dockerd with the events
# watcher on:
# - churn: loops of `docker run --rm` race long-lived containers on a /26, so addresses are
#   freed and given out again at once; afterwards every running container's address is
#   unique among running containers and recorded by the plugin;
# - the same with weave-ipam killed (-9) and restarted in the middle, while a
#   `--restart always` container cycles every two seconds;
# - a restart replays Docker's events (whole-second `since`): the replayed die of a
#   container that has since restarted frees nothing;
# - leak: weave-ipam is stopped, a container is removed (its release is lost), weave-ipam
#   starts again: the address comes free after one grace period and within about 1.5;
# - leaked pool: a network removed while weave-ipam is down is freed with its gateway.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/wipam-own.XXXXXX)
driver=wipam-own-$$
sock=/run/docker/plugins/$driver.sock
admin=$work/admin.sock
image=wipam-test/busybox:latest
net=own-$$
pid=
loops=()

. "$(dirname "$0")/lib.sh"

start_daemon() {
  "$bin" launch --db-path "$work/state" --plugin-socket "$sock" --admin-socket "$admin" \
    --http-addr "" --reconcile-grace 20 --port $((20000 + ($$ + 7) % 20000)) \
    --ipalloc-range 10.98.0.0/16 --ipalloc-init consensus=1 --nickname own "$@" \
    >>"$work/daemon.log" 2>&1 &
  pid=$!
  wait_for_daemon
}

admin_get() { curl -s --unix-socket "$admin" "http://x$1"; }
allocated() { admin_get /allocations | python3 -c "import json,sys; print(' '.join(sorted(json.load(sys.stdin))))"; }
wait_for() { for _ in $(seq "${2:-100}"); do eval "$1" && return 0; sleep 0.1; done; return 1; }
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$1" 2>/dev/null; }

cleanup() {
  for l in "${loops[@]}"; do kill "$l" 2>/dev/null; done
  docker ps -aq --filter "label=wipam-own=$$" | xargs -r docker rm -f >/dev/null 2>&1
  docker network rm "$net" "$net-2" >/dev/null 2>&1
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Every running container on the network: its address is unique among them and held by
# the plugin. Prints the problems; succeeds iff there are none. When a --restart container
# exits, dockerd marks it running and restarting, with its old address, and sends the
# ReleaseAddress before it clears that address; so a restarting container is skipped, and
# an unheld address counts only if a second look, after a fresh read of the table, still
# shows the container running with it.
audit() {
  local held seen="" problems=0 c a
  held=" $(allocated) "
  for c in $(docker ps -q --filter "label=wipam-own=$$" --filter "network=$net"); do
    a=$(running_ip "$c")
    [ -z "$a" ] && continue  # between restarts: no endpoint
    if [[ "$held" != *" $a "* ]]; then
      sleep 0.5
      held=" $(allocated) "
      [ "$(running_ip "$c")" = "$a" ] && [[ "$held" != *" $a "* ]] &&
        { echo "  not recorded: $c has $a"; problems=1; }
    fi
    [[ "$seen" == *" $a "* ]] && { echo "  duplicate: $a"; problems=1; }
    seen="$seen $a "
  done
  return $problems
}

# The container's address on the network while it runs; nothing while it restarts.
running_ip() {
  docker inspect -f "{{if and .State.Running (not .State.Restarting)}}{{(index .NetworkSettings.Networks \"$net\").IPAddress}}{{end}}" \
    "$1" 2>/dev/null
}

# Three loops of short-lived containers beside one loop of long-lived ones.
churn() {
  local tag=$1 runs=$2 long=$3 i pids=()
  for loop in 1 2 3; do
    (for i in $(seq "$runs"); do
      docker run --rm --label wipam-own=$$ --net "$net" $image sh -c 'exit 0' >/dev/null 2>&1
    done) &
    pids+=($!)
  done
  (for i in $(seq "$long"); do
    docker run -d --label wipam-own=$$ --name "own-$tag-$i-$$" --net "$net" $image sleep 600 \
      >/dev/null 2>&1
  done) &
  pids+=($!)
  loops=("${pids[@]}")
  for p in "${pids[@]}"; do wait "$p"; done
  loops=()
}

"$here/scripts/docker-env.sh" start || { echo "0 passed, 1 failed"; exit 1; }
start_daemon || { echo "0 passed, 1 failed"; exit 1; }
L="--label wipam-own=$$"
docker network create -d bridge $L --ipam-driver "$driver" --subnet 10.98.7.0/26 "$net" >/dev/null ||
  { echo "0 passed, 1 failed"; exit 1; }

# 1. Churn.
churn a 25 20
running=$(docker ps -q --filter "label=wipam-own=$$" --filter "network=$net" | wc -l)
check "churn: the 20 long-lived containers run ($running)" "[ $running -eq 20 ]"
check "churn: every running container's address is unique and recorded" "audit"
check "churn: nothing is released by a container-exit event itself" \
  "! grep -q 'released the address of a container that exited' $work/daemon.log"

# 2. The same with a kill -9 and restart in the middle, and a container that cycles.
docker run -d $L --name own-cycle-$$ --restart always --net "$net" $image sh -c 'sleep 2; exit 1' \
  >/dev/null
churn b 25 10 &
churner=$!
sleep 4
kill -9 "$pid"; wait "$pid" 2>/dev/null
sleep 1
start_daemon || bad "the daemon restarts after kill -9"
wait "$churner"
sleep 3  # let the cycling container come round again
check "kill -9 mid-churn: every running container's address is unique and recorded" "audit"
restarts=$(docker inspect -f '{{.RestartCount}}' own-cycle-$$)
check "the --restart always container cycled ($restarts restarts)" "[ $restarts -ge 2 ]"
docker rm -f own-cycle-$$ >/dev/null 2>&1

# 3. A replayed die of a container that restarted since frees nothing.
docker run -d $L --name own-re-$$ --net "$net" $image sleep 600 >/dev/null
docker restart -t 0 own-re-$$ >/dev/null
sleep 1.5  # a die event in an earlier second than the restart below
are=$(ip_of own-re-$$)
kill -TERM "$pid"; wait "$pid"
start_daemon
sleep 3  # the replay and the reconcile after connecting
check "a replayed die event leaves the restarted container's address $are held" \
  "allocated | grep -qw '$are'"
check "after the replay every running container's address is unique and recorded" "audit"

# 4. Leaks: while weave-ipam is down a container and a network are removed, so the
# container's ReleaseAddress and the network's ReleasePool are lost.
docker network create -d bridge $L --ipam-driver "$driver" --subnet 10.98.8.0/24 "$net-2" >/dev/null
gw2="gateway:weave-10.98.8.0/24"
check "the second network's gateway is held" "admin_get /allocations | grep -q '$gw2'"
docker run -d $L --name own-lk-$$ --net "$net" $image sleep 600 >/dev/null
alk=$(ip_of own-lk-$$)
kill -TERM "$pid"; wait "$pid"
docker rm -f own-lk-$$ >/dev/null 2>&1
docker network rm "$net-2" >/dev/null 2>&1
# dockerd retries a plugin call for about 30 s; wait that out so the calls are lost.
sleep 32
start_daemon --reconcile-grace 6
started=$(date +%s.%N)
check "the lost release leaves $alk held at first" "allocated | grep -qw '$alk'"
check "the leaked pool's gateway is still held at first" "admin_get /allocations | grep -q '$gw2'"
if wait_for "! allocated | grep -qw '$alk'" 150; then
  took=$(python3 -c "import time; print(round(time.time() - $started, 1))")
  check "the leaked $alk comes free no sooner than one grace (${took} s, grace 6 s)" \
    "python3 -c 'import sys; sys.exit(0 if $took >= 6 else 1)'"
  check "and within about 1.5 graces (${took} s)" \
    "python3 -c 'import sys; sys.exit(0 if $took <= 10 else 1)'"
else
  bad "the leaked $alk comes free"
fi
check "the leaked pool and its gateway are freed after the grace period" \
  "wait_for \"! admin_get /allocations | grep -q '$gw2'\" 50 && grep -q 'releasing a pool no Docker network uses.*10.98.8.0/24' $work/daemon.log"
check "the live network's gateway stays" "admin_get /allocations | grep -q 'gateway:weave-10.98.7.0/26'"
check "after reconcile every running container's address is still held" "audit"

report
