#!/usr/bin/env bash
# The mesh at scale with real processes (issue 13): scripts/scale.sh with N peers on
# 127.0.0.1, every peer primed at once, then plugin allocations on every peer in parallel.
# Asserts readiness (every peer primed), uniqueness (no address given twice across the
# cluster), that every peer reports gossip frames and stays alive. Figures are printed, not
# asserted: the machine is shared. No Docker.
#   scale_test.sh BINARY [N] [ALLOCS]
set -uo pipefail
bin=$(readlink -f "$1")
n=${2:-30}
[ "$n" -le 49 ] || { echo "scale_test.sh: N is at most 49 (one block of reserved ports)"; exit 2; }
allocs=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/wipam-scale-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$here/lib.sh"
reserve_ports || exit 1

WIPAM_BIN=$bin WIPAM_SCALE_PORT=$port_base WIPAM_SCALE_METRICS_PORT=$((port_base + 50)) WIPAM_SCALE_REST=3 \
  "$here/../../scripts/scale.sh" "$n" "$allocs" >"$work/out" 2>&1
rc=$?
cat "$work/out"
figures=$(grep '^scale N=' "$work/out" || true)
check "scale.sh exits 0 with $n peers" '[ "$rc" = 0 ]'
check "it prints its figures line" '[ -n "$figures" ]'
check "every peer primed" 'grep -q "($n/$n primed)" <<<"$figures"'
check "all $((n * allocs)) allocations answered and unique" \
  'grep -q "allocations $((n * allocs)), $((n * allocs)) unique" <<<"$figures"'
check "every peer alive at the end" 'grep -q "$n/$n peers alive" <<<"$figures"'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
