#!/usr/bin/env bash
# Docker Swarm on one node (issue 17), against a real dockerd: the managed plugin, built from
# the static binary, serves an attachable overlay network. The swarm manager allocates the
# pool, the gateway, the service VIP and the tasks' addresses through it; the node then asks
# again for the same pool and addresses. A 2-replica service must reach Running with
# distinct addresses in the subnet, `docker run --net` on the overlay gets another while a
# `--ip` of a task's address there is refused, a plain --ip claim of a task's address on a local network is still refused, and removing the
# service, the container and the network frees everything. The node leaves swarm mode
# afterwards (only if this test put it there).
#   swarm_test.sh STATIC-BINARY   (built by scripts/build-static.sh if missing)
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$1
[ -x "$bin" ] || bin=$("$here/scripts/build-static.sh" | tail -1)
bin=$(readlink -f "$bin")
work=$(mktemp -d /tmp/wipam-swarm.XXXXXX)
plugin=wipam-swarm-$$:latest
net=wipam-ov-$$
svc=wipam-svc-$$
local_net=wipam-local-$$
test_image=wipam-test/busybox:latest
subnet=10.51.1.0/24
joined_swarm=0
source "$here/tests/e2e/lib.sh"
reserve_ports || exit 1
http_port=$((port_base + 2))

cli() { "$bin" --admin-socket "$work/admin/admin.sock" "$@"; }
cleanup() {
  docker service rm "$svc" >/dev/null 2>&1
  docker rm -f "sw-c-$$" "sw-l-$$" >/dev/null 2>&1
  for _ in $(seq 30); do docker network rm "$net" >/dev/null 2>&1 && break; sleep 1; done
  docker network rm "$local_net" >/dev/null 2>&1
  [ "$joined_swarm" -eq 1 ] && docker swarm leave --force >/dev/null 2>&1
  docker plugin disable -f "$plugin" >/dev/null 2>&1
  docker plugin rm -f "$plugin" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# until_true SECONDS COMMAND: polls COMMAND every 0.5 s.
until_true() {
  local n=$(($1 * 2))
  shift
  for _ in $(seq "$n"); do eval "$1" && return 0; sleep 0.5; done
  eval "$1"
}
# Addresses the plugin holds in the overlay's subnet, one per line.
held_in_subnet() { cli ps 2>/dev/null | grep -o '10\.51\.1\.[0-9]*' | sort -u; }
task_addresses() {
  for c in $(docker ps -q --filter "label=com.docker.swarm.service.name=$svc"); do
    docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "$c"
  done | sort
}
holds_all() { # every address given, at least one
  [ $# -gt 0 ] || return 1
  for a in "$@"; do held_in_subnet | grep -qx "$a" || return 1; done
}
pool_listed() { curl -sf "http://127.0.0.1:$http_port/metrics" | grep -qF "pool=\"weave-$subnet\""; }
running_tasks() { docker service ps "$svc" --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running'; }

"$here/scripts/docker-env.sh" start || { echo "0 passed, 1 failed"; exit 1; }
if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != "inactive" ]; then
  echo "SKIP: this dockerd is already in a swarm; not touching it"
  echo "0 passed, 0 failed"
  exit 0
fi

mkdir -p "$work/state" "$work/admin"
WIPAM_STATIC_BINARY="$bin" "$here/scripts/build-plugin.sh" "$plugin" >/dev/null || bad "the plugin is created"
docker plugin set "$plugin" IPALLOC_RANGE=10.51.0.0/16 LOG_LEVEL=debug state.source="$work/state" \
  admin.source="$work/admin" EXTRA_ARGS="--port $((port_base + 1)) --http-addr 127.0.0.1:$http_port" ||
  bad "the plugin is configured"
check "the managed plugin enables" "docker plugin enable '$plugin' >/dev/null"
check "this node becomes a single-node swarm" \
  "docker swarm init --advertise-addr 127.0.0.1 >/dev/null && joined_swarm=1"
check "an attachable overlay network with the plugin is created" \
  "docker network create -d overlay --attachable --ipam-driver '$plugin' --subnet $subnet '$net' >/dev/null"
check "a 2-replica service on it is created" \
  "docker service create --detach --no-resolve-image --name '$svc' --network '$net' --replicas 2 \
     '$test_image' sleep 600 >/dev/null"
check "both tasks reach Running" "until_true 90 '[ \$(running_tasks) -eq 2 ]'"
docker service ps --no-trunc "$svc" | head -8
check "the plugin's metrics list the overlay's pool" "pool_listed"
tasks=$(task_addresses)
echo "task addresses: $(echo $tasks)"
check "the two tasks have distinct addresses in $subnet" \
  "[ \$(echo '$tasks' | grep -c '^10\.51\.1\.') -eq 2 ] && [ \$(echo '$tasks' | sort -u | wc -l) -eq 2 ]"
check "the plugin holds both task addresses" \
  "holds_all $(echo $tasks)"

docker run -d --name "sw-c-$$" --net "$net" "$test_image" sleep 600 >/dev/null
attached=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$net\").IPAddress}}" "sw-c-$$" 2>/dev/null)
check "docker run --net on the attachable overlay gets another address ($attached)" \
  "[[ '$attached' == 10.51.1.* ]] && ! echo '$tasks' | grep -qx '$attached'"

# By now the tasks' connect events have been handled; a bind would show the container as owner.
bound_tasks() { for a in $tasks; do cli ps 2>/dev/null | grep -E "^[0-9a-f]{64} $a/"; done; }
check "a task's address stays the manager's request, never bound to its container" \
  "sleep 2; [ -z \"\$(bound_tasks)\" ]"

first_task=$(echo "$tasks" | head -1)
# The manager asks for a `docker run --ip` on an attachable overlay, with its own option, as
# it does for its restore: a task's address is in use, and that claim must be refused.
check "docker run --ip of a task's address ($first_task) on the overlay is refused" \
  "[ -n '$first_task' ] && ! docker run --rm --net '$net' --ip '$first_task' '$test_image' true \
     >/dev/null 2>&1"
check "and the task still holds it" "holds_all $first_task"
docker network create -d bridge --ipam-driver "$plugin" --subnet 10.51.2.0/24 "$local_net" >/dev/null
check "on a local network a claim of an address in use is still refused" \
  "docker run -d --name sw-l-$$ --net '$local_net' --ip 10.51.2.9 '$test_image' sleep 600 >/dev/null && \
   ! docker run --rm --net '$local_net' --ip 10.51.2.9 '$test_image' true 2>/dev/null"

docker service rm "$svc" >/dev/null
docker rm -f "sw-c-$$" "sw-l-$$" >/dev/null
check "a task's address is freed once the service is gone" \
  "[ -n '$first_task' ] && until_true 60 '! held_in_subnet | grep -qx $first_task'"
until_true 30 "docker network rm '$net' >/dev/null 2>&1"
check "removing the service, container and overlay frees every address in $subnet" \
  "until_true 90 '[ -z \"\$(held_in_subnet)\" ]'"
check "and the overlay's pool" "until_true 30 '! pool_listed'"
docker network rm "$local_net" >/dev/null 2>&1
check "the node leaves swarm mode" "docker swarm leave --force >/dev/null && joined_swarm=0"
if [ "$failed" -ne 0 ]; then
  echo "--- plugin requests (dockerd log, last 80) ---"
  grep -a 'component=plugin' /tmp/wipam-dockerd.log | tail -80
  echo "--- held ---"; cli ps 2>&1 | tail -20
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
