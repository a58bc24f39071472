#!/usr/bin/env bash
# Operating a real 3-peer cluster (separate processes, gossip over loopback TCP) with the
# weave-like CLI: prime on a fresh consensus cluster, status, status ipam, status peers, ps,
# allocate/claim/release, /metrics checked by a strict Prometheus text parser, rmpeer of a
# stopped peer after which the survivors allocate from its old space, forget, connect, and one clear
# line when the daemon is not running. Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/wipam-cli.XXXXXX)
source "$here/lib.sh"
reserve_ports || exit 1
gp=$port_base       # gossip ports gp+1..3
hp=$((gp + 50))     # status/metrics ports hp+1..3
passed=0
failed=0
pids=()

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
cli() { local i=$1; shift; "$bin" --admin-socket "$work/a$i.sock" "$@"; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_peer() {
  local i=$1
  "$bin" launch --db-path "$work/p$i" --plugin-socket "$work/p$i.sock" \
    --admin-socket "$work/a$i.sock" --http-addr 127.0.0.1:$((hp + i)) --docker-api "" \
    --port $((gp + i)) --ipalloc-range 10.77.0.0/16 --ipalloc-init consensus=3 \
    --nickname peer$i --name 02:00:00:00:00:0$i \
    127.0.0.1:$((gp + 1)) 127.0.0.1:$((gp + 2)) 127.0.0.1:$((gp + 3)) >>"$work/log$i" 2>&1 &
  pids[$i]=$!
  for _ in $(seq 100); do [ -S "$work/a$i.sock" ] && return 0; sleep 0.1; done
  echo "peer $i did not start"; tail "$work/log$i"; return 1
}

for i in 1 2 3; do start_peer $i || exit 1; done

check "status before consensus says the peer is not ready yet" \
  "cli 1 status | grep -q 'Status: awaiting consensus\|Status: idle'"
check "prime completes on a fresh consensus cluster" "cli 1 prime --timeout 30 | grep -qx ready"
check "status shows ready, the range and the default subnet" \
  "cli 1 status | grep -q 'Status: ready' && cli 1 status | grep -q 'Range: 10.77.0.0/16' && cli 1 status | grep -q 'DefaultSubnet: 10.77.0.0/16'"
for i in 2 3; do cli $i prime --timeout 30 >/dev/null; done
ipam=$(cli 1 status ipam)
echo "$ipam"
check "status ipam has one line per owning peer, this one first, shares adding to 100%" \
  "[ \"\$(echo \"\$ipam\" | head -1 | cut -c1-24)\" = '02:00:00:00:00:01(peer1)' ] && echo \"\$ipam\" | awk '{gsub(/[(%]/,\" \"); s+=\$5} END {exit !(s > 99.8 && s < 100.2)}'"
check "status ipam --json is the status document" \
  "cli 1 --json status ipam | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"ready\"] and len(d[\"ring\"]) >= 2'"
check "status peers lists the two others as direct connections" \
  "[ \"\$(cli 1 status peers | grep -c direct)\" = 2 ]"

# Allocations by hand, as scripts and hand-attached containers use them.
a=$(cli 1 allocate web-1)
check "allocate prints an address in the range ($a)" "[[ '$a' == 10.77.* ]]"
check "allocate is idempotent per owner" "[ \"\$(cli 1 allocate web-1)\" = '$a' ]"
check "claim gives exactly that address" "[ \"\$(cli 2 claim db-1 10.77.250.9)\" = 10.77.250.9/16 ]"
check "a second owner cannot claim it" "! cli 1 claim db-2 10.77.250.9 2>$work/err && grep -q 'already in use' $work/err"
check "ps lists owners and addresses" "cli 1 ps | grep -qx 'web-1 $a'"
check "release by owner frees its addresses" "cli 1 release web-1 | grep -qx '$a' && ! cli 1 ps | grep -q web-1"
check "release by address works and is idempotent" "cli 2 release 10.77.250.9 >/dev/null && cli 2 release 10.77.250.9 >/dev/null"
check "bad input is one clear line and a non-zero exit" \
  "! cli 1 claim x not-an-ip 2>$work/err && [ \$(wc -l <$work/err) = 1 ]"

# Metrics, through a strict text-format parser.
cli 1 allocate m-1 >/dev/null
curl -s http://127.0.0.1:$((hp + 1))/metrics >"$work/metrics"
check "metrics parse as Prometheus text" "python3 $here/prometheus_check.py <$work/metrics >$work/samples"
metric() { python3 -c "import json; print(json.load(open('$work/samples')).get('$1', 'missing'))"; }
check "weave_max_ips is the range size" "[ \"\$(metric 'weave_max_ips{range=\"10.77.0.0/16\"}')\" = 65536.0 ]"
check "weave_ips counts local allocations" "[ \"\$(metric 'weave_ips{state=\"local-used\",range=\"10.77.0.0/16\"}')\" = 1.0 ]"
check "allocations are counted and timed" \
  "[ \"\$(metric 'weave_ipam_allocations_total{kind=\"allocate\",result=\"ok\"}')\" != 0.0 ] && [ \"\$(metric 'weave_ipam_operation_seconds_count{op=\"allocate\"}')\" != 0.0 ]"
check "consensus state is achieved" "[ \"\$(metric 'weave_ipam_consensus_state{state=\"achieved\",range=\"10.77.0.0/16\"}')\" = 1.0 ]"
check "the TCP mirror is read-only" \
  "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$((hp + 1))/prime)\" = 405 ]"

# rmpeer: stop a peer that owns space; the survivors take it over and allocate from it.
owner3=$(cli 1 --json status | python3 -c "import json,sys; d=json.load(sys.stdin); print(sum(1 for r in d['ring'] if r['owner']=='02:00:00:00:00:03'))")
victim=3
[ "$owner3" = 0 ] && victim=2  # consensus may split among any two of the three
kill -TERM "${pids[$victim]}"; wait "${pids[$victim]}" 2>/dev/null
check "status ipam marks the stopped peer unreachable" \
  "for _ in \$(seq 50); do cli 1 status ipam | grep -q 'peer$victim.*unreachable!' && break; sleep 0.1; done; cli 1 status ipam | grep -q 'peer$victim.*unreachable!'"
check "rmpeer of the stopped peer reports what was reclaimed" \
  "cli 1 rmpeer peer$victim | grep -q 'taken over from 02:00:00:00:00:0$victim(peer$victim)'"
check "the survivor then owns the dead peer's space" \
  "! cli 1 status ipam | grep -q peer$victim"
survivor=$((victim == 2 ? 3 : 2))
check "survivors allocate from the dead peer's old space" \
  "cli 1 allocate after-rmpeer >/dev/null && cli $survivor prime >/dev/null && cli $survivor allocate s-1 >/dev/null"
check "forget drops a gossip target" \
  "cli 1 forget 127.0.0.1:$((gp + victim)) >/dev/null && ! cli 1 status peers | grep -q 'target 127.0.0.1:$((gp + victim))'"

check "connect adds a gossip target back" \
  "cli 1 connect 127.0.0.1:$((gp + victim)) >/dev/null && cli 1 status peers | grep -q 'target 127.0.0.1:$((gp + victim))'"

# The daemon not running: one clear line.
kill -TERM "${pids[1]}"; wait "${pids[1]}" 2>/dev/null
check "a stopped daemon gives one clear line and exit 1" \
  "cli 1 status 2>$work/err; [ \$? = 1 ] && [ \$(wc -l <$work/err) = 1 ] && grep -q 'daemon is not running' $work/err"

[ $failed -eq 0 ] || { for i in 1 2 3; do echo "--- peer $i log ---"; tail -15 "$work/log$i"; done; }
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
