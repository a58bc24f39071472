#!/usr/bin/env bash
# Runs a libFuzzer target (tests/fuzz) for SECONDS (default 60): `scripts/fuzz.sh cbor 600`,
# or every target in turn with `scripts/fuzz.sh all 20`. Builds build/fuzz with clang
# first if needed (under the shared build lock). Each run starts from a copy of the target's
# committed corpus and regressions, so nothing in the tree changes; a crash leaves its input
# in build/fuzz/crashes/TARGET/ and makes the script exit non-zero once all targets ran.
# Add a fixed crash's input to tests/fuzz/regressions/TARGET/ (FuzzReplay replays it).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(plugin admin cni gossip cbor store)
which="${1:-}"
seconds="${2:-60}"
if [ -z "$which" ] || { [ "$which" != all ] && [[ ! " ${targets[*]} " == *" $which "* ]]; }; then
  echo "usage: scripts/fuzz.sh TARGET|all [SECONDS]  (targets: ${targets[*]})" >&2
  exit 2
fi
[ "$which" = all ] || targets=("$which")

build=build/fuzz
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DWIPAM_FUZZ=ON -DWIPAM_TESTS=OFF >/dev/null
fi
# WIPAM_BUILD_LOCK= (empty) builds without the lock, for callers that already hold it.
lock="${WIPAM_BUILD_LOCK-/tmp/wipam-build.lock}"
if [ -n "$lock" ]; then
  flock -o "$lock" cmake --build "$build" -j2 --target fuzz_all >/dev/null
else
  cmake --build "$build" -j2 --target fuzz_all >/dev/null
fi

status=0
for t in "${targets[@]}"; do
  work="$build/runs/$t"
  crashes="$build/crashes/$t"
  rm -rf "$work" && mkdir -p "$work" "$crashes"
  for d in tests/fuzz/corpus/"$t" tests/fuzz/regressions/"$t"; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$work"/ \;
  done
  log="$build/runs/$t.log"
  # -rss_limit_mb and -timeout turn runaway memory or work on one input into a crash too.
  rc=0
  "$build/fuzz/fuzz_$t" "$work" -max_total_time="$seconds" -print_final_stats=1 \
    -rss_limit_mb=2048 -timeout=10 -max_len=8192 -artifact_prefix="$crashes/" >"$log" 2>&1 || rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || true)
  if [ $rc -ne 0 ]; then
    echo "fuzz $t: FAILED (exit $rc) after ${execs:-?} executions; log $log, input in $crashes/" >&2
    grep -E -m5 'ERROR|SUMMARY|fuzz_check|runtime error|what\(\)' "$log" >&2 || true
    status=1
  else
    echo "fuzz $t: ${execs:-?} executions in ${seconds}s, no crash ($(grep -m1 -E 'DONE' "$log" || true))"
  fi
done
exit $status
