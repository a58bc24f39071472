#!/usr/bin/env bash
# The README's run command: installs what is missing (build tools, Docker), builds a
# release weave-ipam, and runs it in the foreground as a single peer serving the local
# Docker daemon, with its state in ./state. Extra arguments go to `weave-ipam launch`,
# e.g. `scripts/run.sh --ipalloc-range 10.40.0.0/16` or peers to join.
# WIPAM_RUN_PRINT_ONLY=1 prints the launch command instead (tests: no root, install or build).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
state="${WEAVE_IPAM_STATE:-$PWD/state}"

# Alone, this peer creates its ring at once (consensus=1). With peers given, it must not:
# each host would create a ring of its own, and rings created apart never join. Then it
# waits to agree with them (consensus=N by default, or pass --ipalloc-init yourself).
# weave-ipam also reads PEERS, IPALLOC_INIT and EXTRA_ARGS from the environment.
init=(--ipalloc-init consensus=1)
if [ -n "${PEERS:-}" ] || [ -n "${IPALLOC_INIT:-}" ]; then
  init=()
fi
read -ra extra <<<"${EXTRA_ARGS:-}"
args=("${extra[@]}" "$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --ipalloc-init|--ipalloc-init=*) init=() ;;
    --no-discovery|--*=*) ;;
    --*) i=$((i + 1)) ;;  # every other flag takes a value
    *) init=() ;;         # a peer to join
  esac
done
launch=("$build/weave-ipam" launch --db-path "$state" "${init[@]}" "$@")
if [ "${WIPAM_RUN_PRINT_ONLY:-}" = 1 ]; then
  echo "${launch[*]}"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "run.sh: run as root (e.g. sudo scripts/run.sh): the plugin socket lives in /run/docker/plugins" >&2
  exit 1
fi
scripts/setup.sh docker
scripts/docker-env.sh start >/dev/null

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWIPAM_TESTS=OFF >/dev/null
cmake --build "$build" --target weave-ipam

mkdir -p "$state"
cat <<EOT
weave-ipam: starting a single peer for the local Docker (state in $state).
Try, in another terminal:
  docker network create --ipam-driver weave --subnet 10.32.0.0/16 mynet
  docker run --rm --net mynet wipam-test/busybox:latest ip -4 addr show eth0
  curl -s --unix-socket /run/weave-ipam/admin.sock http://x/status    # or http://127.0.0.1:6784/status
Stop with Ctrl-C.
EOT
exec "${launch[@]}"
