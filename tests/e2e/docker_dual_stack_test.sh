#!/usr/bin/env bash
# A dual-stack network through the legacy plugin against a real dockerd: the daemon serves
# 10.97.0.0/16 and fd00:97::/48; `docker network create --ipv6` with a subnet of each family
# gets both pools (the gateways held under their pool), every container gets one address of
# each family (seen inside it with `ip -6 addr`), unique, an --ip6 claim is honoured and a
# conflicting one refused, a network with --ipv6 and no subnets gets an IPv6 /64 of the
# default subnet, and a restart of the daemon keeps both addresses of a running container.
# Prints "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/wipam-e2e6.XXXXXX)
driver=wipam-e2e6-$$
sock=/run/docker/plugins/$driver.sock
admin=$work/admin.sock
image=wipam-test/busybox:latest
pid=

. "$(dirname "$0")/lib.sh"
reserve_ports || exit 1

start_daemon() {
  "$bin" launch --db-path "$work/state" --plugin-socket "$sock" --admin-socket "$admin" \
    --http-addr "" --port $((port_base + 1)) --ipalloc-range 10.97.0.0/16 \
    --ipalloc-range fd00:97::/48 --ipalloc-init consensus=1 --nickname e2e6 "$@" \
    >>"$work/daemon.log" 2>&1 &
  pid=$!
  wait_for_daemon
}
admin_get() { curl -s --unix-socket "$admin" "http://x$1"; }
owner_of() { admin_get /allocations | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1',''))"; }
ip4_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").IPAddress}}" "$1"; }
wait_for() { for _ in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; return 1; }
ip6_of() { docker inspect -f "{{(index .NetworkSettings.Networks \"$2\").GlobalIPv6Address}}" "$1"; }

cleanup() {
  docker ps -aq --filter "label=wipam-e2e6=$$" | xargs -r docker rm -f >/dev/null 2>&1
  for n in $(docker network ls -q --filter "label=wipam-e2e6=$$"); do docker network rm "$n" >/dev/null 2>&1; done
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$here/scripts/docker-env.sh" start || { echo "0 passed, 1 failed"; exit 1; }
start_daemon || { echo "0 passed, 1 failed"; exit 1; }
L="--label wipam-e2e6=$$"
net=e2e6-a-$$

check "a dual-stack network is created" \
  "docker network create -d bridge $L --ipv6 --ipam-driver $driver --subnet 10.97.5.0/24 --subnet fd00:97:0:5::/64 $net >/dev/null"
# dockerd asks for each pool's gateway; inspect shows only a gateway the user named.
gateways() { admin_get /allocations | python3 -c "import json,sys; print(' '.join(sorted(a for a, o in json.load(sys.stdin).items() if o == 'gateway:weave-$1')))"; }
check "each pool's gateway is held for it ($(gateways 10.97.5.0/24), $(gateways fd00:97:0:5::/64))" \
  "[[ \$(gateways 10.97.5.0/24) == 10.97.5.* ]] && [[ \$(gateways fd00:97:0:5::/64) == fd00:97:0:5:* ]]"

ok_all=true
for i in 1 2 3 4; do
  docker run -d $L --name e2e6-c$i-$$ --net $net $image sleep 600 >/dev/null || ok_all=false
done
check "containers start on the dual-stack network" "$ok_all"
v4s=$(for i in 1 2 3 4; do ip4_of e2e6-c$i-$$ $net; done)
v6s=$(for i in 1 2 3 4; do ip6_of e2e6-c$i-$$ $net; done)
echo "IPv4: $(echo $v4s)  IPv6: $(echo $v6s)"
check "each container has an address of each family, in its subnet" \
  "[ \$(echo \"$v4s\" | grep -c '^10\.97\.5\.') = 4 ] && [ \$(echo \"$v6s\" | grep -c '^fd00:97:0:5:') = 4 ]"
check "no two containers share an address of either family" \
  "[ -z \"\$(echo \"$v4s\" | sort | uniq -d)\" ] && [ -z \"\$(echo \"$v6s\" | sort | uniq -d)\" ]"
c1v6=$(ip6_of e2e6-c1-$$ $net)
check "the container sees its IPv6 address (ip -6 addr)" \
  "docker exec e2e6-c1-$$ ip -6 addr | grep -q '$c1v6/64'"
c1id=$(docker inspect -f '{{.Id}}' e2e6-c1-$$)
check "the IPv6 address is bound to its container by the events stream" \
  "wait_for '[ \"\$(owner_of $c1v6)\" = $c1id ]'"

check "--ip6 gives exactly that address" \
  "docker run -d $L --name e2e6-ip-$$ --net $net --ip6 fd00:97:0:5::99 $image sleep 600 >/dev/null && [ \"\$(ip6_of e2e6-ip-$$ $net)\" = fd00:97:0:5::99 ]"
check "a conflicting --ip6 is refused, naming the holder" \
  "{ docker run -d $L --name e2e6-ipx-$$ --net $net --ip6 fd00:97:0:5::99 $image sleep 600 2>&1 || true; } | grep -q 'already in use'"
check "a conflicting --ip6 leaves no container running" \
  "[ -z \"\$(docker ps -q --filter name=e2e6-ipx-$$)\" ]"

check "a network with --ipv6 and no subnets is created" \
  "docker network create -d bridge $L --ipv6 --ipam-driver $driver e2e6-b-$$ >/dev/null"
sb6=$(docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' e2e6-b-$$ | tr ' ' '\n' | grep ':')
check "it gets an IPv6 /64 of the default subnet ($sb6)" "[[ '$sb6' == fd00:97:* ]] && [[ '$sb6' == */64 ]]"

# Docker 20.10 always gives a network an IPv4 pool; given only an IPv6 subnet, it asks the
# plugin for that pool and an automatic IPv4 one.
check "a network given only an IPv6 subnet is created" \
  "docker network create -d bridge $L --ipv6 --ipam-driver $driver --subnet fd00:97:0:7::/64 e2e6-s-$$ >/dev/null"
docker run -d $L --name e2e6-s1-$$ --net e2e6-s-$$ $image sleep 600 >/dev/null
s6=$(ip6_of e2e6-s1-$$ e2e6-s-$$)
check "its container gets an IPv6 address in that subnet ($s6), held by the plugin" \
  "[[ '$s6' == fd00:97:0:7:* ]] && [ -n \"\$(owner_of $s6)\" ]"

check "IPv6 outside the range is refused with our reason" \
  "{ docker network create -d bridge $L --ipv6 --ipam-driver $driver --subnet 10.97.6.0/24 --subnet fd00:99::/64 e2e6-x-$$ 2>&1 || true; } | grep -q 'outside the allocation range fd00:97::/48'"

c1v4=$(ip4_of e2e6-c1-$$ $net)
kill -TERM "$pid"; wait "$pid"
start_daemon
check "after a restart the daemon still holds the container's IPv4 and IPv6 addresses" \
  "[ -n \"\$(owner_of $c1v4)\" ] && [ -n \"\$(owner_of $c1v6)\" ]"
docker run -d $L --name e2e6-c5-$$ --net $net $image sleep 600 >/dev/null
c5v6=$(ip6_of e2e6-c5-$$ $net)
check "a container started after the restart gets a new IPv6 address ($c5v6)" \
  "[ -n '$c5v6' ] && ! echo \"$v6s fd00:97:0:5::99\" | grep -qw '$c5v6'"
docker rm -f e2e6-c2-$$ >/dev/null
c2v6=$(echo "$v6s" | sed -n 2p)
check "removing a container frees its IPv6 address ($c2v6)" "wait_for '[ -z \"\$(owner_of $c2v6)\" ]'"

report
