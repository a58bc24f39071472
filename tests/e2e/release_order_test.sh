#!/usr/bin/env bash
# A release is answered before its delete is synced (issue 15); the store's log keeps the
# order, so an allocation answered after it is durable only with the delete before it.
# A real daemon serves plugin RequestAddress / ReleaseAddress pairs from two clients, each
# pair getting the address the previous one freed, and is killed with SIGKILL mid-churn,
# three times. After each restart every address whose last answered call was an allocation
# must still be held (a release answered but lost may leave its address held: a leak, never
# a lost allocation), and nothing is held twice. No Docker. Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/wipam-order.XXXXXX)
sock=$work/plugin.sock
admin=$work/admin.sock
daemon_pid=""
source "$here/lib.sh"
reserve_ports || exit 1

cleanup() {
  [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_daemon() {
  rm -f "$sock" "$admin"
  "$bin" launch --db-path "$work/state" --plugin-socket "$sock" --admin-socket "$admin" \
    --http-addr "" --docker-api "" --port $((port_base + 1)) --ipalloc-range 10.98.0.0/16 \
    --ipalloc-init consensus=1 --name 02:00:00:00:02:01 >>"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  wait_for_daemon
}
plugin() { curl -s --max-time 5 --unix-socket "$sock" -X POST "http://p/IpamDriver.$1" -d "$2"; }

# churn: allocate, log the answer, release it, log that; until the daemon dies. Both
# clients append to one log after each answer, so it is in answer order per address.
churn() {
  local out=$work/answers reply address
  while :; do
    reply=$(plugin RequestAddress '{"PoolID":"weave-10.98.1.0/24","Address":"","Options":null}') || break
    address=$(echo "$reply" | sed -n 's/.*"Address":"\([0-9.]*\)\/.*/\1/p')
    [ -n "$address" ] || break
    echo "alloc $address" >>"$out"
    reply=$(plugin ReleaseAddress "{\"PoolID\":\"weave-10.98.1.0/24\",\"Address\":\"$address\"}") || break
    [ "$reply" = "{}" ] || break
    echo "rel $address" >>"$out"
  done
}

start_daemon || exit 1
plugin RequestPool '{"AddressSpace":"weavelocal","Pool":"10.98.1.0/24","Options":null}' >/dev/null
for round in 1 2 3; do
  rm -f "$work/answers"
  churn &
  a_pid=$!
  churn &
  b_pid=$!
  sleep 3
  kill -9 "$daemon_pid"
  wait "$daemon_pid" 2>/dev/null
  daemon_pid=""
  wait "$a_pid" "$b_pid"
  pairs=$(grep -c '^rel' "$work/answers")
  # Addresses whose last answered call, over both clients, was an allocation.
  awk '{last[$2]=$1} END {for (a in last) if (last[a]=="alloc") print a}' \
    "$work/answers" | sort >"$work/must_hold"
  start_daemon || exit 1
  "$bin" --admin-socket "$admin" --json ps >"$work/ps.json"
  python3 -c 'import json,sys; [print(a.split("/")[0]) for l in json.load(open(sys.argv[1])).values() for a in l]' \
    "$work/ps.json" | sort >"$work/held"
  check "round $round: $pairs answered pairs before SIGKILL" "[ $pairs -gt 10 ]"
  check "round $round: every address last answered as allocated is held ($(wc -l <"$work/must_hold"))" \
    "[ -z \"\$(comm -23 $work/must_hold $work/held)\" ]"
  check "round $round: nothing is held twice" "[ \$(sort $work/held | uniq -d | wc -l) -eq 0 ]"
done
report
