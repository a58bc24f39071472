#!/usr/bin/env bash
# Builds a statically linked release weave-ipam at build/static/weave-ipam, for the managed
# plugin's rootfs and the FROM scratch image. Checks that it really is static.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build=build/static
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWIPAM_TESTS=OFF -DWIPAM_STATIC=ON >/dev/null
cmake --build "$build" --target weave-ipam
if ldd "$build/weave-ipam" >/dev/null 2>&1; then
  echo "build-static.sh: $build/weave-ipam is dynamically linked" >&2
  exit 1
fi
echo "$build/weave-ipam"
