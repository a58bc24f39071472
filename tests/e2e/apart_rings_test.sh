#!/usr/bin/env bash
# Rings created apart (issue 11): two real `weave-ipam launch` peers each start alone with
# --ipalloc-init consensus=1 and allocate, so each has a ring of its own over one range.
# Then `weave-ipam connect` points one at the other. The link must be refused on both sides
# with one clear line (in `status`, the /status JSON and the logs), no link may be kept, the
# redials must back off, and neither may hand out an address the other could also hand out.
# A third peer with no ring, pointed at both, joins one and is refused by the other (the
# conflict found once linked, by the allocator). Gossip over loopback TCP on 127.0.0.x;
# no Docker. Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/wipam-apart.XXXXXX)
source "$here/lib.sh"
reserve_ports || exit 1
gp=$port_base   # gossip ports gp+1..3
hp=$((gp + 50)) # status ports hp+1..3
range=10.46.0.0/16
passed=0
failed=0
declare -A pids=()

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
cli() { local i=$1; shift; "$bin" --admin-socket "$work/a$i.sock" "$@"; }
host() { echo "127.0.0.$((60 + $1))"; }
gossip_addr() { echo "$(host "$1"):$((gp + $1))"; }
name() { echo "02:00:00:00:00:0$1"; }
cleanup() {
  for i in "${!pids[@]}"; do kill "${pids[$i]}" 2>/dev/null; done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_peer I INIT [TARGET...]
start_peer() {
  local i=$1 init=$2
  shift 2
  "$bin" launch --db-path "$work/p$i" --plugin-socket "$work/p$i.sock" \
    --admin-socket "$work/a$i.sock" --http-addr "$(host "$i"):$((hp + i))" --docker-api "" \
    --port $((gp + i)) --ipalloc-range $range --ipalloc-init "$init" \
    --nickname "apart$i" --name "$(name "$i")" "$@" >>"$work/log$i" 2>&1 &
  pids[$i]=$!
  for _ in $(seq 100); do [ -S "$work/a$i.sock" ] && return 0; sleep 0.1; done
  echo "peer $i did not start"; tail "$work/log$i"; return 1
}

# until_true SECONDS COMMAND: polls COMMAND every 0.2 s.
until_true() {
  local n=$(($1 * 5))
  shift
  for _ in $(seq "$n"); do eval "$1" && return 0; sleep 0.2; done
  eval "$1"
}

# Every address a peer holds, one per line, sorted.
held() { cli "$1" --json ps | python3 -c 'import json,sys; [print(a.split("/")[0]) for l in json.load(sys.stdin).values() for a in l]' | sort -u; }
json_field() { cli "$1" --json status | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
apart_line() { # the conflict line peer $1 states about peer $2
  echo "this peer's IP allocation was created apart from $(name "$2")(apart$2)'s (ours: seeds [$(name "$1")], theirs: seeds [$(name "$2")]); wipe the state of the smaller network and restart its peers"
}

for i in 1 2; do start_peer $i consensus=1 || exit 1; done
for i in 1 2; do
  for owner in before-a before-b; do cli $i allocate $owner >/dev/null || bad "peer $i allocates $owner"; done
done
held 1 >"$work/before1"
held 2 >"$work/before2"
check "each ring alone handed out the same two addresses (rings created apart)" \
  "[ \"\$(cat $work/before1)\" = \"\$(printf '10.46.0.1\n10.46.0.2')\" ] && cmp -s $work/before1 $work/before2"

cli 1 connect "$(gossip_addr 2)" >/dev/null
check "peer 1 states the conflict in status" \
  "until_true 20 'cli 1 status | grep -qF \"Status: not handing out addresses: \$(apart_line 1 2)\"'"
check "peer 2 states the conflict in status" \
  "until_true 20 'cli 2 status | grep -qF \"Status: not handing out addresses: \$(apart_line 2 1)\"'"
check "the /status JSON says not ready and names the peer and both seed lists" \
  "[ \"\$(json_field 1 'd[\"ready\"], d[\"ring_conflicts\"][0][\"peer\"], d[\"ring_conflicts\"][0][\"ours\"], d[\"ring_conflicts\"][0][\"theirs\"]')\" = \"False $(name 2) ['$(name 1)'] ['$(name 2)']\" ]"
check "the read-only HTTP /status says the same" \
  "curl -s http://$(host 2):$((hp + 2))/status | grep -qF 'created apart from $(name 1)(apart1)'"
check "each log has the conflict as one error line" \
  "[ \"\$(grep -c 'level=error.*created apart from $(name 2)' $work/log1)\" = 1 ] && [ \"\$(grep -c 'level=error.*created apart from $(name 1)' $work/log2)\" = 1 ]"
check "the refused link is in each log with the reason" \
  "grep -q 'link with .*failed: this peer.s IP allocation was created apart' $work/log1 && grep -q 'link with .*failed: this peer.s IP allocation was created apart' $work/log2"
check "no link is kept: status peers shows no connection on either side" \
  "! cli 1 status peers | grep -q 'direct\|connected' && ! cli 2 status peers | grep -q 'direct\|connected'"
check "the target shows why it waits" \
  "cli 1 status peers | grep -q 'target $(gossip_addr 2) .*created apart'"

# Allocating more on both: nothing may come out that the other side could also hand out.
for k in 1 2 3; do
  for i in 1 2; do
    if cli $i allocate "after-$k" >>"$work/after$i" 2>>"$work/err$i"; then :; fi
  done
done
check "allocations on both are refused, naming the conflict" \
  "[ \"\$(grep -c 'created apart' $work/err1)\" = 3 ] && [ \"\$(grep -c 'created apart' $work/err2)\" = 3 ]"
held 1 >"$work/now1"
held 2 >"$work/now2"
comm -13 "$work/before1" "$work/now1" >"$work/new1"
comm -13 "$work/before2" "$work/now2" >"$work/new2"
check "no address handed out after the connect is held on both peers" \
  "[ -z \"\$(comm -12 $work/now1 $work/new2)\" ] && [ -z \"\$(comm -12 $work/now2 $work/new1)\" ]"
check "what an owner already held is still its own" "[ \"\$(cli 1 allocate before-a)\" = 10.46.0.1/16 ]"

# Redials back off (1 s, doubling): a handful of attempts in ten seconds, not a loop.
sleep 10
attempts=$(grep -c 'link with .*created apart' "$work/log1")
check "redials back off ($attempts refused attempts logged by peer 1)" "[ $attempts -ge 1 ] && [ $attempts -le 8 ]"

# A peer with no ring yet still joins; pointed at both rings, it keeps exactly one of them.
start_peer 3 observer "$(gossip_addr 1)" "$(gossip_addr 2)" || exit 1
check "a peer without a ring joins one of the two" \
  "until_true 20 '[ \"\$(cli 3 status peers | grep -c \" direct\")\" = 1 ]'"
joined=$(cli 3 status peers | grep ' direct' | grep -o '02:00:00:00:00:0[12]' | head -1)
other=$([ "$joined" = "$(name 1)" ] && echo 2 || echo 1)
check "it received that ring and names the other as created apart" \
  "until_true 20 'cli 3 status | grep -qF \"created apart from $(name $other)(apart$other)\"'"
check "and keeps no link with the other" \
  "sleep 3; [ \"\$(cli 3 status peers | grep -c \" direct\")\" = 1 ] && cli 3 status peers | grep ' direct' | grep -q '$joined'"

# scripts/run.sh: consensus=1 only for a lone peer.
run_line() { WIPAM_RUN_PRINT_ONLY=1 "$here/../../scripts/run.sh" "$@"; }
# True iff run.sh would launch weave-ipam without consensus=1 (and did print a launch line).
no_consensus1() {
  local line
  line=$(run_line "$@") && [[ $line == *"weave-ipam launch"* && $line != *consensus=1* ]]
}
check "run.sh alone creates its ring at once" "run_line | grep -q -- '--ipalloc-init consensus=1'"
check "run.sh with a peer does not" "no_consensus1 10.0.0.2"
check "run.sh with a peer after flags does not" \
  "no_consensus1 --ipalloc-range 10.40.0.0/16 --no-discovery 10.0.0.2:6783"
check "run.sh with peers in PEERS or EXTRA_ARGS does not" \
  "PEERS=10.0.0.2 no_consensus1 && EXTRA_ARGS='--port 6790 10.0.0.3' no_consensus1"
check "run.sh keeps an --ipalloc-init given" \
  "no_consensus1 --ipalloc-init=observer && run_line --ipalloc-init=observer | grep -q -- '--ipalloc-init=observer'"

[ $failed -eq 0 ] || { for i in 1 2 3; do echo "--- peer $i log ---"; tail -25 "$work/log$i" 2>/dev/null; done; }
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
