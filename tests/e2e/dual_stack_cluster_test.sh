#!/usr/bin/env bash
# A real 3-peer dual-stack cluster (separate processes, gossip over loopback TCP), each peer
# serving 10.78.0.0/16 and fd00:78::/48: both rings are created by consensus, every peer
# allocates in both families and no address is handed out twice, status/ps/metrics show both
# ranges, a peer with only the IPv4 range is refused at the handshake naming both sets, and a
# partition (peer 3's port cut by iptables, its links closed by ss -K) during which both sides allocate in both
# families heals into converged rings with every address still unique. Prints
# "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/wipam-dual.XXXXXX)
source "$here/lib.sh"
reserve_ports || exit 1
gp=$port_base   # gossip ports gp+1..4
hp=$((gp + 50)) # status ports hp+1..4
passed=0
failed=0
pids=()
rules=()

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
cli() { local i=$1; shift; timeout 60 "$bin" --admin-socket "$work/a$i.sock" "$@"; }
status() { curl -s -m 5 "http://127.0.0.1:$((hp + $1))/status"; }
wait_for() { for _ in $(seq 300); do eval "$1" && return 0; sleep 0.2; done; return 1; }
cut_off() { # REJECT (with a reset, so links drop at once) everything to or from peer 3's port
  for rule in "-p tcp --dport $((gp + 3)) -j REJECT --reject-with tcp-reset" \
              "-p tcp --sport $((gp + 3)) -j REJECT --reject-with tcp-reset"; do
    iptables -I INPUT -i lo $rule && rules+=("$rule")
  done
  # A reset from a rejected packet is itself rejected, so close the live links by hand.
  ss -K "( sport = :$((gp + 3)) or dport = :$((gp + 3)) )" >/dev/null
}
heal() {
  for rule in "${rules[@]}"; do iptables -D INPUT -i lo $rule; done
  rules=()
}
cleanup() {
  heal 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# Peers 1 and 2 dial each other and peer 3; peer 3 dials no one, so every link of peer 3 is
# to its own port and the iptables rules above cut exactly those.
start_peer() {
  local i=$1 ranges=${2:-"--ipalloc-range 10.78.0.0/16 --ipalloc-range fd00:78::/48"}
  local targets=()
  [ "$i" = 1 ] && targets=(127.0.0.1:$((gp + 2)) 127.0.0.1:$((gp + 3)))
  [ "$i" = 2 ] && targets=(127.0.0.1:$((gp + 1)) 127.0.0.1:$((gp + 3)))
  [ "$i" = 4 ] && targets=(127.0.0.1:$((gp + 1)))
  # shellcheck disable=SC2086
  "$bin" launch --db-path "$work/p$i" --plugin-socket "$work/p$i.sock" \
    --admin-socket "$work/a$i.sock" --http-addr 127.0.0.1:$((hp + i)) --docker-api "" \
    --port $((gp + i)) $ranges --ipalloc-init consensus=3 --no-discovery \
    --nickname peer$i --name 02:00:00:00:00:0$i "${targets[@]}" >>"$work/log$i" 2>&1 &
  pids[$i]=$!
  for _ in $(seq 100); do [ -S "$work/a$i.sock" ] && return 0; sleep 0.1; done
  echo "peer $i did not start"; tail "$work/log$i"; return 1
}
# Every address every live peer holds, one per line (both families).
all_held() {
  for i in "$@"; do curl -s -m 5 "http://127.0.0.1:$((hp + i))/allocations" |
    python3 -c "import json,sys; print('\n'.join(json.load(sys.stdin)))"; done
}
unique() { [ -z "$(all_held "$@" | sort | uniq -d)" ]; }
count_family() { all_held 1 2 3 | grep -c "$1"; }
# Both ranges' rings, as peer $1 sees them.
rings() { status "$1" | python3 -c "import json,sys
s = json.load(sys.stdin)
print(json.dumps([[(r['range'], r['owner']) for r in x['ring']] for x in s['ranges']]))"; }
reachable() { # reachable FROM NAME true|false
  status "$1" | python3 -c "import json,sys
s = json.load(sys.stdin)
sys.exit(not any(p['name'] == '$2' and p['reachable'] == json.loads('$3') for p in s['peers']))" 2>/dev/null
}
allocate_all() { # allocate_all PEER TAG: one address of each family
  local a b
  a=$(cli "$1" allocate "$2") && b=$(cli "$1" allocate "$2" fd00:78::/48) &&
    [[ $a == 10.78.* ]] && [[ $b == fd00:78:* ]]
}

for i in 1 2 3; do start_peer $i || exit 1; done
primers=()
for i in 1 2 3; do
  cli $i prime --timeout 40 >/dev/null &
  primers+=($!)
done
for p in "${primers[@]}"; do wait "$p"; done
check "every peer is ready in both ranges" \
  "(for i in 1 2 3; do status \$i | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(not (len(s[\"ranges\"]) == 2 and all(r[\"ready\"] for r in s[\"ranges\"])))' || exit 1; done)"
check "status names both ranges" \
  "cli 1 status | grep -q 'Range: 10.78.0.0/16' && cli 1 status | grep -q 'Range: fd00:78::/48'"
check "both rings were created by consensus (a quorum of 2 or more splits each)" \
  "status 1 | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(not all(x[\"consensus\"] == \"achieved\" and len({r[\"owner\"] for r in x[\"ring\"]}) >= 2 for x in s[\"ranges\"]))'"

ok_all=true
for round in 1 2 3 4 5; do
  for i in 1 2 3; do allocate_all $i "c$i-$round" || ok_all=false; done
done
check "every peer allocates in both families" "$ok_all"
check "30 addresses, 15 of each family" "[ \$(count_family '^10\.78\.') = 15 ] && [ \$(count_family '^fd00:78:') = 15 ]"
check "no address is held twice across the cluster" "unique 1 2 3"
check "ps lists an owner's address of each family" \
  "cli 1 ps | grep -E '^c1-1 10\.78\.[0-9.]+/16 fd00:78:[0-9a-f:]+/48$' >/dev/null"
check "status ipam shows each range" \
  "cli 1 status ipam | grep -qx '10.78.0.0/16:' && cli 1 status ipam | grep -qx 'fd00:78::/48:'"
curl -s "http://127.0.0.1:$((hp + 1))/metrics" >"$work/metrics"
check "metrics parse, with a range label on each range's series" \
  "python3 $here/prometheus_check.py <$work/metrics >/dev/null && grep -q 'weave_ips{state=\"local-used\",range=\"fd00:78::/48\"} 5' $work/metrics && grep -q 'weave_ips{state=\"local-used\",range=\"10.78.0.0/16\"} 5' $work/metrics"
check "claims are judged per range: an IPv6 address held elsewhere is refused" \
  "cli 2 claim x6 fd00:78::77 >/dev/null && ! cli 1 claim y6 fd00:78::77 2>/dev/null"

# The ring page in headless Chromium draws one ring per range, each with its own segments.
if command -v chromium >/dev/null; then
  timeout 90 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chrome" \
    --virtual-time-budget=5000 --dump-dom "http://127.0.0.1:$((hp + 1))/" >"$work/dom.html" 2>>"$work/chromium.log"
  check "the ring page draws a ring for each range" \
    "[ \$(grep -o 'class=\"card ring-card\"' $work/dom.html | wc -l) = 2 ] && grep -q 'data-ring=\"fd00:78::/48\"' $work/dom.html && grep -q 'data-ring=\"10.78.0.0/16\"' $work/dom.html"
else
  bad "chromium is not installed (scripts/test.sh installs it)"
fi

start_peer 4 "--ipalloc-range 10.78.0.0/16" || exit 1
check "a peer with only the IPv4 range is refused, naming both sets" \
  "wait_for \"grep -q 'Incompatible IP allocation ranges (received: 10.78.0.0/16,fd00:78::/48, ours: 10.78.0.0/16)' $work/log4\""
kill "${pids[4]}"; wait "${pids[4]}" 2>/dev/null; unset 'pids[4]'

cut_off
check "the partition cuts peer 3 off" "wait_for 'reachable 1 02:00:00:00:00:03 false' && wait_for 'reachable 3 02:00:00:00:00:01 false'"
ok_all=true
for round in 1 2 3; do
  allocate_all 3 "p3-$round" || ok_all=false
  allocate_all 1 "p1-$round" || ok_all=false
done
check "both sides of the partition allocate in both families" "$ok_all"
check "no duplicate during the partition" "unique 1 2 3"
heal
check "the partition heals" "wait_for 'reachable 1 02:00:00:00:00:03 true' && wait_for 'reachable 3 02:00:00:00:00:01 true'"
check "both rings converge on every peer" \
  "wait_for '[ \"\$(rings 1)\" = \"\$(rings 2)\" ] && [ \"\$(rings 1)\" = \"\$(rings 3)\" ]'"
check "after healing, every address is still unique and none was lost (43 held)" \
  "unique 1 2 3 && [ \$(all_held 1 2 3 | wc -l) = 43 ]"

kill "${pids[2]}"; wait "${pids[2]}" 2>/dev/null
before=$(all_held 1 3 | sort)
start_peer 2 || exit 1
check "a restarted peer keeps its addresses of both families" \
  "wait_for 'cli 2 ps | grep -E \"^c2-1 10\\.78\\..* fd00:78:\" >/dev/null'"
check "nothing is held twice after the restart" "unique 1 2 3"

if [ "$failed" != 0 ]; then
  for i in 1 2 3; do echo "--- tail of log$i"; tail -20 "$work/log$i"; done
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
