#!/usr/bin/env bash
# A stranger on the gossip port (issue 12). Two real `weave-ipam launch` peers form a ring
# and allocate; then a stranger process (stranger.py, from its own loopback address) joins
# without a password and sends Gossip and Broadcast frames of 1 MB nested CBOR, a forged
# seq near UINT64_MAX and random payloads; opens connections of random bytes; announces a
# 1 MB Hello; and floods half-open connections while a real third peer joins. Both peers
# must stay up, keep serving the plugin socket, keep every allocation, refuse the bad
# broadcasts without relaying them, and the third peer must join and allocate during the
# flood. A peer with a password must send nothing after its Hello to a party that has not
# proved itself. Loopback TCP on 127.0.0.x; no Docker. Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/wipam-stranger.XXXXXX)
range=10.47.0.0/16
stranger_ip=127.0.0.79
declare -A pids=()
source "$here/lib.sh"
reserve_ports || exit 1
gp=$port_base   # gossip ports gp+1..4
hp=$((gp + 50)) # status ports hp+1..4

cli() { local i=$1; shift; "$bin" --admin-socket "$work/a$i.sock" "$@"; }
host() { echo "127.0.0.$((70 + $1))"; }
cleanup() {
  for i in "${!pids[@]}"; do kill "${pids[$i]}" 2>/dev/null; done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_peer I INIT [FLAGS AND TARGETS...]
start_peer() {
  local i=$1 init=$2
  shift 2
  "$bin" launch --db-path "$work/p$i" --plugin-socket "$work/p$i.sock" \
    --admin-socket "$work/a$i.sock" --http-addr "$(host "$i"):$((hp + i))" --docker-api "" \
    --port $((gp + i)) --ipalloc-range $range --ipalloc-init "$init" \
    --nickname "s$i" --name "02:00:00:00:01:0$i" "$@" >>"$work/log$i" 2>&1 &
  pids[$i]=$!
  for _ in $(seq 100); do [ -S "$work/a$i.sock" ] && return 0; sleep 0.1; done
  echo "peer $i did not start"; tail "$work/log$i"; return 1
}
alive() { kill -0 "${pids[$1]}" 2>/dev/null; }
serves_plugin() {
  curl -sf --unix-socket "$work/p$1.sock" -X POST http://plugin/IpamDriver.GetCapabilities \
    -d '{}' | grep -q RequiresMACAddress
}
held() { cli "$1" --json ps | python3 -c 'import json,sys; [print(a.split("/")[0]) for l in json.load(sys.stdin).values() for a in l]' | sort -u; }
stranger() { timeout 60 python3 "$here/stranger.py" "$@"; }
all_up() { for i in "$@"; do alive "$i" && serves_plugin "$i" || return 1; done; }

start_peer 1 consensus=2 || exit 1
start_peer 2 consensus=2 "$(host 1):$((gp + 1))" || exit 1
for i in 1 2; do timeout 30 "$bin" --admin-socket "$work/a$i.sock" prime >/dev/null || bad "peer $i primes"; done
for i in 1 2; do
  for n in 1 2 3 4 5; do cli $i allocate "before-$i-$n" >/dev/null || bad "peer $i allocates"; done
done
held 1 >"$work/held1.before"
held 2 >"$work/held2.before"
check "the two peers hold 5 addresses each" \
  "[ \$(wc -l <$work/held1.before) -eq 5 ] && [ \$(wc -l <$work/held2.before) -eq 5 ]"

stranger join-and-poison "$(host 1)" $((gp + 1)) $range $stranger_ip
check "the stranger was let in and sent nested CBOR, a forged seq and random payloads" "[ $? -eq 0 ]"
sleep 1
check "peer 1 refused the nested Gossip payload with a reason" \
  "grep -q 'refused gossip from .*CBOR input' $work/log1"
check "peer 1 refused the nested Broadcast and did not relay it" \
  "grep -q 'refused a broadcast from .*not relayed' $work/log1"
check "peer 2 never saw the bad broadcasts (nothing refused, no bad message)" \
  "! grep -qE 'refused a broadcast|bad-message|CBOR input' $work/log2"
check "both peers stay up and serve the plugin socket after the poisoned frames" "all_up 1 2"

stranger forge-sources "$(host 1)" $((gp + 1)) $range $stranger_ip
check "peer 1 closes each link whose frames lie about their source" "[ $? -eq 0 ]"
check "peer 1 names each forged source in its log" \
  "grep -q 'speaks for it as another incarnation' $work/log1 &&
   grep -q 'claims another incarnation of it as its source' $work/log1 &&
   grep -q 'claims source .* on its first hop' $work/log1 &&
   grep -q 'refused a unicast in our name' $work/log1"
check "both peers stay up after the forged sources" "all_up 1 2"

stranger random "$(host 2)" $((gp + 2)) $stranger_ip 60
check "60 connections of random bytes are each closed by the peer" "[ $? -eq 0 ]"
stranger big-hello "$(host 1)" $((gp + 1)) $stranger_ip
check "a 1 MB Hello is refused at its header, within 3 s" "[ $? -eq 0 ]"
check "peer 1 names the oversized Hello in its log" "grep -q 'over the limit of' $work/log1"

stranger flood "$(host 1)" $((gp + 1)) $stranger_ip 300 20 >"$work/flood.out" &
flood_pid=$!
sleep 2
start_peer 3 consensus=2 "$(host 1):$((gp + 1))" "$(host 2):$((gp + 2))" || exit 1
check "a real third peer joins and primes during the flood" \
  "timeout 15 $bin --admin-socket $work/a3.sock prime >/dev/null"
for n in 1 2 3 4 5; do cli 3 allocate "during-$n" >/dev/null || bad "peer 3 allocates during the flood"; done
check "peer 3 links to peer 1 during the flood" \
  "cli 3 status peers | grep -q '02:00:00:00:01:01'"
check "peer 1 limits the flood's handshakes from the stranger's address" \
  "grep -q 'too many handshakes from $stranger_ip' $work/log1"
wait "$flood_pid"
cat "$work/flood.out"

check "after everything, peers 1 and 2 are up and serve the plugin socket" "all_up 1 2 3"
check "peer 1 keeps every allocation it had" "held 1 | cmp -s - $work/held1.before"
check "peer 2 keeps every allocation it had" "held 2 | cmp -s - $work/held2.before"
for i in 1 2 3; do cli $i allocate "after-$i" >/dev/null || bad "peer $i allocates afterwards"; done
{ held 1; held 2; held 3; } >"$work/all"
check "the 18 addresses across the three peers are unique" \
  "[ \$(sort -u $work/all | wc -l) -eq 18 ] && [ \$(wc -l <$work/all) -eq 18 ]"

# A peer with a password: the party it accepted must prove itself before it sees a proof.
start_peer 4 consensus=1 --ipalloc-range 10.48.0.0/16 --password "a-long-shared-secret-for-the-test" || exit 1
stranger prove-first "$(host 4)" $((gp + 4)) 10.48.0.0/16 $stranger_ip
check "a keyed peer sends nothing after its Hello until the dialler proves itself" "[ $? -eq 0 ]"
check "and it logs the forged proof as an authentication failure" \
  "grep -q 'authentication failed' $work/log4"
check "the keyed peer is still up" "alive 4"

for i in 1 2; do cp "$work/log$i" "$work/daemon.log.$i"; done
cat "$work/log1" "$work/log2" >"$work/daemon.log"
report
