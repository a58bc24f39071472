#!/usr/bin/env bash
# Runs the deterministic simulation beyond what the test command does:
#   scripts/sim.sh [FIRST-LAST]   seeds FIRST..LAST (default 1-10000), then the scale runs.
# Uses a Release build with invariant checks on; prints the violation count and figures.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-1-10000}"

scripts/setup.sh
build=build/sim
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-DWIPAM_CHECKED=1 >/dev/null
cmake --build "$build" --target sim_tests

first=${seeds%-*}
last=${seeds#*-}
# Two shards, one per core.
mid=$(( (first + last) / 2 ))
WIPAM_SIM_SEEDS="$first-$mid" "$build/tests/sim_tests" --gtest_filter='SimTest.Shard1*' >"$build/shard1.log" 2>&1 &
p1=$!
WIPAM_SIM_SEEDS="$((mid + 1))-$last" "$build/tests/sim_tests" --gtest_filter='SimTest.Shard1*' >"$build/shard2.log" 2>&1 &
p2=$!
status=0
wait $p1 || status=1
wait $p2 || status=1
grep -h "simulated seeds" "$build"/shard*.log || true
[ $status -eq 0 ] || { grep -h -A40 "Failure" "$build"/shard*.log | head -120; exit 1; }

"$build/tests/sim_tests" --gtest_also_run_disabled_tests --gtest_filter='SimScaleTest.*' | grep -E "scale:|OK|FAILED"
