#!/usr/bin/env bash
# Shipping weave-ipam, end to end against a real dockerd: the static binary, the managed
# (v2) plugin built from it (created, configured with `docker plugin set`, enabled, used by a
# network whose container gets an address, disabled and re-enabled with the allocation kept,
# removed), and the FROM scratch image built from the Dockerfile running --version.
#   managed_plugin_test.sh STATIC-BINARY   (built by scripts/build-static.sh if missing)
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$1
[ -x "$bin" ] || bin=$("$here/scripts/build-static.sh" | tail -1)
bin=$(readlink -f "$bin")
work=$(mktemp -d /tmp/wipam-plugin.XXXXXX)
source "$here/tests/e2e/lib.sh"
reserve_ports || exit 1
plugin=wipam-e2e-$$:latest
image=wipam-e2e-image-$$
net=wipam-e2e-mp-$$
test_image=wipam-test/busybox:latest
passed=0
failed=0

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
cli() { "$bin" --admin-socket "$work/admin/admin.sock" "$@"; }
cleanup() {
  docker rm -f "mp-1-$$" >/dev/null 2>&1
  docker network rm "$net" >/dev/null 2>&1
  docker plugin disable -f "$plugin" >/dev/null 2>&1
  docker plugin rm -f "$plugin" >/dev/null 2>&1
  docker rmi -f "$image" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

"$here/scripts/docker-env.sh" start || { echo "0 passed, 1 failed"; exit 1; }

check "the release binary is statically linked" "! ldd '$bin' >/dev/null 2>&1"
check "the plugin is created from the static binary and config.json" \
  "WIPAM_STATIC_BINARY='$bin' '$here/scripts/build-plugin.sh' '$plugin' >/dev/null"
mkdir -p "$work/state" "$work/admin"
check "docker plugin set configures its range, state and admin mounts" \
  "docker plugin set '$plugin' IPALLOC_RANGE=10.66.0.0/16 state.source='$work/state' admin.source='$work/admin' \
     EXTRA_ARGS='--port $((port_base + 1)) --http-addr= --reconcile-grace 300'"
check "the plugin enables (it listens before joining the mesh)" "docker plugin enable '$plugin' >/dev/null"
check "a network with --ipam-driver $plugin is created" \
  "docker network create -d bridge --ipam-driver '$plugin' --subnet 10.66.1.0/24 '$net' >/dev/null"
docker run -d --name "mp-1-$$" --net "$net" "$test_image" sleep 600 >/dev/null
addr=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "mp-1-$$" 2>/dev/null)
check "a container gets an address from the plugin ($addr)" "[[ '$addr' == 10.66.1.* ]]"
check "the host's CLI reaches the plugin's admin socket" "cli status | grep -q 'Range: 10.66.0.0/16'"
check "the plugin persists into the state mount" "[ -n \"\$(ls '$work/state')\" ]"
check "disable and re-enable keep the allocation" \
  "docker plugin disable -f '$plugin' >/dev/null && docker plugin enable '$plugin' >/dev/null && \
   for _ in \$(seq 50); do cli ps 2>/dev/null | grep -qw '$addr' && break; sleep 0.1; done; cli ps | grep -qw '$addr'"
check "a second container after re-enable gets a different address" \
  "a2=\$(docker run --rm --net '$net' '$test_image' ip -4 -o addr show eth0 | awk '{print \$4}'); [[ \$a2 == 10.66.1.* ]] && [ \"\${a2%/*}\" != '$addr' ]"
docker rm -f "mp-1-$$" >/dev/null
docker network rm "$net" >/dev/null
check "the plugin is removed cleanly" \
  "docker plugin disable '$plugin' >/dev/null && docker plugin rm '$plugin' >/dev/null && ! docker plugin inspect '$plugin' >/dev/null 2>&1"

# The Dockerfile's final stage, from the prebuilt static binary (no base image to pull).
# BuildKit skips the unused Debian build stage; Debian's docker client drives it itself.
client=docker
[ -x /usr/bin/docker ] && client=/usr/bin/docker
mkdir -p "$work/context/build/static"
cp "$here/Dockerfile" "$here/.dockerignore" "$work/context/"
cp "$bin" "$work/context/build/static/weave-ipam"
check "the Dockerfile's final stage builds FROM scratch with the static binary" \
  "DOCKER_BUILDKIT=1 $client build -q --build-arg BINARY_FROM=prebuilt -t '$image' '$work/context' >'$work/build.log' 2>&1 || { cat '$work/build.log'; false; }"
check "the image runs weave-ipam --version" "docker run --rm '$image' --version | grep -q '^weave-ipam '"
check "the image holds nothing but the binary" \
  "[ \"\$(docker image inspect -f '{{len .RootFS.Layers}}' '$image')\" = 1 ]"

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
