#!/usr/bin/env bash
# weave-ipam as a legacy Docker IPAM plugin, end to end against a real dockerd:
# networks with and without --subnet, containers getting unique addresses in them, --ip
# claims and conflicts, release on container removal, pools released with the network,
# malformed requests refused while the daemon keeps serving, a restart keeping running
# containers' addresses, and kill -9 in the middle of a burst of `docker run` losing no
# acknowledged allocation, Docker events binding addresses to containers, and reconcile
# freeing a leaked address (tests/e2e/docker_ownership_test.sh has the release rules).
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/wipam-e2e.XXXXXX)
driver=wipam-e2e-$$
sock=/run/docker/plugins/$driver.sock
admin=$work/admin.sock
image=wipam-test/busybox:latest
pid=

. "$(dirname "$0")/lib.sh"
reserve_ports || exit 1

# Extra arguments override the defaults (later flags win).
start_daemon() {
  "$bin" launch --db-path "$work/state" --plugin-socket "$sock" --admin-socket "$admin" \
    --http-addr "" --reconcile-grace 300 --port $((port_base + 1)) \
    --ipalloc-range 10.99.0.0/16 --ipalloc-init consensus=1 --nickname e2e "$@" \
    >>"$work/daemon.log" 2>&1 &
  pid=$!
  wait_for_daemon
}

admin_get() { curl -s --unix-socket "$admin" "http://x$1"; }
plugin_post() { curl -s -o "$work/body" -w '%{http_code}' --unix-socket "$sock" -X POST -d "$2" "http://x$1"; }
allocated() { admin_get /allocations | python3 -c "import json,sys; print(' '.join(sorted(json.load(sys.stdin))))"; }
owner_of() { admin_get /allocations | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1',''))"; }
wait_for() { for _ in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
ip_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }

cleanup() {
  docker ps -aq --filter "label=wipam-e2e=$$" | xargs -r docker rm -f >/dev/null 2>&1
  for n in $(docker network ls -q --filter "label=wipam-e2e=$$"); do docker network rm "$n" >/dev/null 2>&1; done
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$here/scripts/docker-env.sh" start || { echo "0 passed, 1 failed"; exit 1; }
start_daemon || { echo "0 passed, 1 failed"; exit 1; }
L="--label wipam-e2e=$$"

# Networks.
check "network with --subnet is created" \
  "docker network create -d bridge $L --ipam-driver $driver --subnet 10.99.1.0/24 e2e-a-$$ >/dev/null"
check "network outside the range is refused with our reason" \
  "{ docker network create -d bridge $L --ipam-driver $driver --subnet 10.200.0.0/24 e2e-x-$$ 2>&1 || true; } | grep -q 'outside the allocation range'"
check "two networks without --subnet are both created" \
  "docker network create -d bridge $L --ipam-driver $driver e2e-b-$$ >/dev/null && docker network create -d bridge $L --ipam-driver $driver e2e-c-$$ >/dev/null"
sb=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' e2e-b-$$ 2>/dev/null)
sc=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' e2e-c-$$ 2>/dev/null)
check "networks without --subnet get different subnets ($sb, $sc)" "[ -n '$sb' ] && [ '$sb' != '$sc' ]"

# Containers.
docker run -d $L --name e2e-1-$$ --net e2e-a-$$ $image sleep 600 >/dev/null
docker run -d $L --name e2e-2-$$ --net e2e-a-$$ $image sleep 600 >/dev/null
a1=$(ip_of e2e-1-$$ e2e-a-$$); a2=$(ip_of e2e-2-$$ e2e-a-$$)
check "a container gets an address in the subnet ($a1)" "[[ '$a1' == 10.99.1.* ]]"
check "two containers get different addresses ($a1, $a2)" "[ -n '$a2' ] && [ '$a1' != '$a2' ]"
check "the container sees its address on eth0" \
  "docker exec e2e-1-$$ ip -4 addr show eth0 | grep -q 'inet $a1/24'"
check "the daemon records both addresses" "allocated | grep -qw '$a1' && allocated | grep -qw '$a2'"
docker run -d $L --name e2e-3-$$ --net e2e-a-$$ --ip 10.99.1.77 $image sleep 600 >/dev/null
check "--ip gives exactly that address" "[ \"\$(ip_of e2e-3-$$ e2e-a-$$)\" = 10.99.1.77 ]"
check "a conflicting --ip fails with our message" \
  "{ docker run -d $L --name e2e-4-$$ --net e2e-a-$$ --ip 10.99.1.77 $image sleep 600 2>&1 || true; } | grep -q 'address 10.99.1.77 is already in use'"
docker rm -f e2e-2-$$ >/dev/null
check "removing a container frees its address" "! allocated | grep -qw '$a2'"

# Bad input on the plugin socket changes nothing and the daemon keeps serving.
check "malformed JSON is a 400 with Err" \
  "[ \"\$(plugin_post /IpamDriver.RequestPool '{not json')\" = 400 ] && grep -q Err $work/body"
check "an unknown pool is refused" \
  "[ \"\$(plugin_post /IpamDriver.RequestAddress '{\"PoolID\":\"nope\",\"Address\":\"\"}')\" != 200 ]"
check "an unknown endpoint is a 404" "[ \"\$(plugin_post /IpamDriver.Frobnicate '{}')\" = 404 ]"
check "release of an unknown address is harmless" \
  "[ \"\$(plugin_post /IpamDriver.ReleaseAddress '{\"PoolID\":\"nope\",\"Address\":\"10.99.9.9\"}')\" = 200 ]"
check "the daemon still serves after bad input" \
  "docker run --rm --net e2e-a-$$ $image true"

# Pools go with their network.
check "docker network rm releases the pool" \
  "docker network rm e2e-c-$$ >/dev/null && docker network create -d bridge $L --ipam-driver $driver e2e-d-$$ >/dev/null && [ \"\$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' e2e-d-$$)\" = '$sc' ]"

# Restart keeps running containers' addresses.
kill -TERM "$pid"; wait "$pid"
check "SIGTERM exits cleanly and removes the plugin socket" "[ ! -e '$sock' ]"
start_daemon
check "after a restart the running containers' addresses are still held" \
  "allocated | grep -qw '$a1' && allocated | grep -qw 10.99.1.77"
docker run -d $L --name e2e-5-$$ --net e2e-a-$$ $image sleep 600 >/dev/null
a5=$(ip_of e2e-5-$$ e2e-a-$$)
check "a new container after the restart gets a fresh address ($a5)" \
  "[ -n '$a5' ] && [ '$a5' != '$a1' ] && [ '$a5' != 10.99.1.77 ]"

# kill -9 during a burst of docker run loses no acknowledged allocation.
for i in $(seq 1 8); do
  docker run -d $L --name e2e-burst-$i-$$ --net e2e-a-$$ $image sleep 600 >/dev/null 2>&1 &
done
sleep 0.7
kill -9 "$pid"; wait "$pid" 2>/dev/null
wait
rm -f "$sock"  # a killed daemon leaves its socket behind; the next start replaces it
start_daemon
running=$(docker ps -q --filter "label=wipam-e2e=$$" --filter "network=e2e-a-$$")
held=$(allocated)
lost=0; dup=0; seen=""
for c in $running; do
  a=$(ip_of "$c" e2e-a-$$)
  echo "$held" | grep -qw "$a" || { echo "  lost: $c has $a"; lost=1; }
  echo "$seen" | grep -qw "$a" && dup=1
  seen="$seen $a"
done
check "after kill -9 mid-burst every running container's address is still held" "[ $lost = 0 ]"
check "no two running containers share an address" "[ $dup = 0 ]"
docker run -d $L --name e2e-6-$$ --net e2e-a-$$ $image sleep 600 >/dev/null
a6=$(ip_of e2e-6-$$ e2e-a-$$)
check "a container started after the crash gets an unused address ($a6)" \
  "[ -n '$a6' ] && ! echo '$seen' | grep -qw '$a6'"

# Docker events: a connect binds the address to its container. An exit releases nothing by
# itself (dockerd's own ReleaseAddress does, or reconcile after the grace period), so a
# container killed while weave-ipam is down keeps its address until one of those.
docker run -d $L --name e2e-ev-$$ --net e2e-a-$$ $image sleep 600 >/dev/null
ev=$(docker inspect -f '{{.Id}}' e2e-ev-$$)
aev=$(ip_of e2e-ev-$$ e2e-a-$$)
check "Docker's connect event binds $aev to its container" "wait_for '[ \"\$(owner_of $aev)\" = $ev ]'"
docker rm -f e2e-ev-$$ >/dev/null
check "dockerd's release of a removed container frees its bound address" "! allocated | grep -qw $aev"

# Reconcile: an address whose release was missed, and that no container holds, is freed
# after the grace period; everything Docker still holds stays.
kill -TERM "$pid"; wait "$pid"
start_daemon --docker-api ""  # no events: the next container's address stays anonymous
docker run -d $L --name e2e-lk-$$ --net e2e-a-$$ $image sleep 600 >/dev/null
alk=$(ip_of e2e-lk-$$ e2e-a-$$)
kill -TERM "$pid"; wait "$pid"
docker rm -f e2e-lk-$$ >/dev/null 2>&1
start_daemon --reconcile-grace 1
check "reconcile releases the leaked address $alk" \
  "wait_for '! allocated | grep -qw $alk' && grep -q 'releasing an address no container holds.*address=$alk' $work/daemon.log"
sleep 2  # two more reconcile rounds
held=$(allocated)
lost=0
for c in $(docker ps -q --filter "label=wipam-e2e=$$" --filter "network=e2e-a-$$"); do
  echo "$held" | grep -qw "$(ip_of "$c" e2e-a-$$)" || lost=1
done
check "reconcile keeps every running container's address" "[ $lost = 0 ]"
check "reconcile keeps the networks' gateways" "admin_get /allocations | grep -q 'gateway:weave-10.99.1.0/24'"

report
