#!/usr/bin/env bash
# The README's test command: installs what is missing, checks style, builds with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every test (unit, property,
# simulation, multi-process and Docker end-to-end, managed plugin, CNI), then every fuzz
# target for a bounded time. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/check-style.sh

# The static release binary, for the managed-plugin and Dockerfile tests.
scripts/build-static.sh >/dev/null

build=build/asan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWIPAM_SANITIZE=ON >/dev/null
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 900 "$@"

# The simulation's 500 seeds, in a release build with the allocator's invariant checks on
# (the sanitizer build above runs 10 of them).
sim=build/sim
cmake -S . -B "$sim" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS=-DWIPAM_CHECKED=1 >/dev/null
cmake --build "$sim" --target sim_tests
ctest --test-dir "$sim" --output-on-failure -j2 --timeout 900 -R 'SimTest\.'

# Every fuzz target for a bounded time (tests/fuzz, issue #12): a clang build in build/fuzz,
# then 15 s each from the committed corpus. Unlocked, like the builds above.
WIPAM_BUILD_LOCK= scripts/fuzz.sh all "${WIPAM_FUZZ_SECONDS:-20}"
