#!/usr/bin/env bash
# The ring page (GET / on --http-addr, issue #6) against a real 3-peer cluster on loopback:
# headless Chromium loads peer 1's page, and the segments it draws must match peer 1's
# /status (same ranges and owners, shares of the range summing to 1, reachable flags) with
# all 3 peers in the table; after peer 3 stops, its segments must turn unreachable. Saves a
# screenshot to $ARTIFACT_DIR/ring-page.png (default build/artifacts) for a human to look at.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
checker=$here/tests/e2e/ring_page_check.py
artifacts=${ARTIFACT_DIR:-$here/build/artifacts}
work=$(mktemp -d /tmp/wipam-ring-page.XXXXXX)
source "$here/tests/e2e/lib.sh"
reserve_ports || exit 1
base=$port_base # gossip ports base+1..3, HTTP ports base+4..6
gp=$base
hp=$((base + 3))
url=http://127.0.0.1:$((hp + 1))/
pids=()
passed=0
failed=0

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() {
  if [ "$failed" != 0 ]; then
    for f in "$work"/peer*.log; do echo "--- tail of $f"; tail -15 "$f"; done
  fi
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit $?
}

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# --no-sandbox: we run as root; a private profile keeps runs from sharing browser state.
browse() { timeout 90 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chrome" \
  --virtual-time-budget=5000 "$@" "$url" 2>>"$work/chromium.log"; }
status() { curl -s -m 5 "http://127.0.0.1:$((hp + 1))/status"; }
page() { python3 "$checker" "$work/dom.html" "$work/status.json" "$@"; }
wait_for() { for _ in $(seq 150); do eval "$1" && return 0; sleep 0.2; done; return 1; }
peer_reachable() {  # peer_reachable NAME true|false: as peer 1's /status reports it
  status | python3 -c "import json,sys
s = json.load(sys.stdin)
sys.exit(not any(p['name'] == '$1' and p['reachable'] == $2 for p in s['peers']))" 2>/dev/null
}
# Every peer owns part of the ring and peer 1 sees all 3 reachable.
cluster_ready() {
  status | python3 -c "import json,sys
s = json.load(sys.stdin)
sys.exit(not (len({r['owner'] for r in s['ring']}) == 3 and len(s['peers']) == 3
              and all(p['reachable'] for p in s['peers'])))" 2>/dev/null
}
snapshot() { status >"$work/status.json" && browse --dump-dom >"$work/dom.html"; }

if ! command -v chromium >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >"$work/apt.log" 2>&1 ||
    { tail -5 "$work/apt.log"; bad "chromium is installed"; finish; }
fi

for i in 1 2 3; do
  "$bin" launch --db-path "$work/p$i" --plugin-socket "$work/p$i.sock" \
    --admin-socket "$work/a$i.sock" --http-addr "127.0.0.1:$((hp + i))" --docker-api "" \
    --port $((gp + i)) --ipalloc-range 10.77.0.0/16 --ipalloc-init consensus=3 \
    --nickname "peer$i" --name "02:00:00:00:00:0$i" \
    "127.0.0.1:$((gp + 1))" "127.0.0.1:$((gp + 2))" "127.0.0.1:$((gp + 3))" \
    >>"$work/peer$i.log" 2>&1 &
  pids+=($!)
done
check "3 peers start and serve /status" "wait_for 'status | grep -q consensus'"
check "prime reaches consensus" \
  "curl -s -m 60 -o /dev/null -w '%{http_code}' -X POST --unix-socket '$work/a1.sock' http://x/prime | grep -q 200"
# Consensus may split the ring among only a quorum (2 of 3); an allocation on each peer makes
# a peer left out ask for space, so all 3 own a part, and gives each part a used band.
for i in 1 2 3; do
  check "peer $i allocates an address" \
    "curl -s -m 60 -X POST --unix-socket '$work/a$i.sock' -d '{\"owner\":\"ring-page-$i\"}' http://x/allocate | grep -q '10\.77\.'"
done
check "peer 1 sees all 3 peers owning space and reachable" "wait_for cluster_ready"
check "GET / serves the page as HTML" \
  "curl -s -m 5 -D - -o '$work/page.html' '$url' | grep -qi '^content-type: text/html' && grep -q '<svg' '$work/page.html'"
check "the page loads nothing from elsewhere" "! grep -Eqi '(src|href)=\"?(https?:)?//' '$work/page.html'"

snapshot
check "the page finishes its first draw" "page loaded"
check "one segment per ring entry, same ranges and owners as /status" "page segments"
check "segment shares are size/range and sum to 1" "page shares"
check "segment reachable flags match /status" "page reachable"
check "the peer table has 3 rows" "page peer-rows 3"

mkdir -p "$artifacts"
shot=$artifacts/ring-page.png
rm -f "$shot"
pid3=${pids[2]}
kill -TERM "$pid3"
wait "$pid3" 2>/dev/null
check "peer 1 reports peer 3 unreachable after it stops" \
  "wait_for 'peer_reachable 02:00:00:00:00:03 False'"
snapshot
check "the page marks peer 3's segments and row unreachable, and only those" \
  "page unreachable 02:00:00:00:00:03"
check "segment reachable flags still match /status" "page reachable"

browse --window-size=1000,900 --screenshot="$shot" >/dev/null
check "a screenshot over 10 kB is saved to $shot" \
  "[ -f '$shot' ] && [ \$(stat -c %s '$shot') -gt 10240 ]"

finish
