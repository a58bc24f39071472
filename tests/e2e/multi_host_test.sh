#!/usr/bin/env bash
# Several Docker hosts on one machine (issue 16): scripts/hosts.sh up 3 starts three hosts,
# each a network namespace on one bridged LAN with its own dockerd and its own weave-ipam
# peer (the other two as peers, consensus=3). Then, through each host's own dockerd:
#   - `docker network create --ipam-driver weave --subnet 10.60.1.0/24 n` on every host and
#     containers started on all three at once get addresses that are unique across hosts,
#     inside the subnet, and recorded by their own host's peer;
#   - the shared-LAN macvlan case of DESIGN.md: with Docker's built-in IPAM two hosts'
#     macvlan networks on one LAN give their first containers the same address (and, since
#     Docker derives the MAC from it, the same MAC): shown first, as the demonstration;
#     with --ipam-driver weave on all three hosts, containers started at once get unique
#     addresses and MACs and ping each other across hosts over the LAN; every host's
#     network names the LAN's router with `--gateway`, which the three peers share: no
#     container gets it, and it stays held until the last host's network goes;
#   - `hosts.sh down` leaves nothing: no namespace, dockerd, containerd, weave-ipam, bridge,
#     mount or state; a second `down` is a no-op.
# Root; never touches the machine's own dockerd. Prints "N passed, M failed".
#   multi_host_test.sh WEAVE-IPAM-BINARY            legacy plugin sockets, one peer per host
#   multi_host_test.sh STATIC-BINARY managed        the managed plugin on every host (PEERS set)
set -uo pipefail
prefix=wmh$$
range=10.60.0.0/16
. "$(dirname "$0")/multi_host_lib.sh"

recorded() { held "$1" | grep -x "$(ip_of "$1" "n-x-$1-$2" n)" >/dev/null; }
# for_each N FN: true iff FN I J is, for every host I and J in 1..N.
for_each() {
  local i j
  for i in 1 2 3; do for j in $(seq "$1"); do "$2" $i "$j" || return 1; done; done
}

up_hosts 3
ids=$(for i in 1 2 3; do dk $i info --format '{{.ID}}'; done | sort -u | wc -l)
check "three dockerds with three IDs" "[ $ids = 3 ]"
check "each host reaches every weave-ipam over the LAN (GET /status on 10.200.0.J)" \
  "for_each 3 reaches"
check "the per-host plugin directories are mounted only inside each dockerd's namespace" \
  "! grep -qF '$work' /proc/self/mountinfo"

# A bridge network with one subnet on every host, containers on all three at once.
for i in 1 2 3; do
  dk $i network create --ipam-driver $driver --subnet 10.60.1.0/24 n >/dev/null ||
    bad "host $i: docker network create --ipam-driver $driver --subnet 10.60.1.0/24 n"
done
run_on n 4 x 1 2 3
: >"$work/n.addrs"
for i in 1 2 3; do for k in 1 2 3 4; do ip_of $i "n-x-$i-$k" n >>"$work/n.addrs"; done; done
check "12 containers on 3 hosts run with 12 addresses ($(grep -c . "$work/n.addrs") given)" \
  "[ \"\$(dk 1 ps -q | wc -l)\$(dk 2 ps -q | wc -l)\$(dk 3 ps -q | wc -l)\" = 444 ] && [ \$(grep -c . $work/n.addrs) = 12 ]"
check "all container addresses are unique across hosts and inside 10.60.1.0/24" \
  "unique_in $work/n.addrs 10.60.1.0/24"
for i in 1 2 3; do held $i; done >"$work/n.held"
check "no address (gateways included) is held by two peers ($(grep -c . "$work/n.held") held)" \
  "no_repeats $work/n.held"
check "each container's address is recorded by its own host's peer" "for_each 4 recorded"
# Owned by its container's ID: each peer's events watcher follows its own host's dockerd.
bound() { cli "$1" ps | grep -x "$(dk "$1" inspect -f '{{.Id}}' "n-x-$1-$2") $(ip_of "$1" "n-x-$1-$2" n)/24" >/dev/null; }
check "each peer binds its host's containers to their addresses (its own dockerd's events)" \
  "until_true 20 'for_each 4 bound'"

# The shared LAN, Docker's built-in IPAM: each host's dockerd allocates the subnet alone.
for i in 1 2; do
  dk $i network create -d macvlan -o parent=lan0 --subnet 10.61.0.0/24 builtin >/dev/null ||
    bad "host $i: macvlan network with Docker's own IPAM"
  dk $i run -d --name "builtin-$i" --net builtin $image sleep 600 >/dev/null || bad "host $i: run on builtin"
done
b1=$(ip_of 1 builtin-1 builtin)
b2=$(ip_of 2 builtin-2 builtin)
check "demonstration: Docker's own IPAM gives containers on two hosts of one LAN the same address ($b1, $b2)" \
  "[ -n '$b1' ] && [ '$b1' = '$b2' ]"
check "and the same MAC, derived from it ($(mac_of 1 builtin-1 builtin))" \
  "[ \"\$(mac_of 1 builtin-1 builtin)\" = \"\$(mac_of 2 builtin-2 builtin)\" ]"
# One macvlan network per parent: this one goes before weave's takes lan0.
for i in 1 2; do dk $i rm -f "builtin-$i" >/dev/null; dk $i network rm builtin >/dev/null; done

# The same LAN with weave's IPAM on all three hosts, and the LAN's router as every host's
# `--gateway`: one address that all three networks name, shared by the three peers.
router=10.60.2.254
ip -n "$prefix-lan" addr add $router/24 dev lan
for i in 1 2 3; do
  dk $i network create -d macvlan -o parent=lan0 --ipam-driver $driver --subnet 10.60.2.0/24 \
    --gateway $router lan >/dev/null || bad "host $i: macvlan network with --ipam-driver $driver --gateway $router"
done
gateways=$(for i in 1 2 3; do dk $i network inspect -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}' lan; done | sort -u)
check "the router $router is the gateway of the network on all three hosts" "[ '$gateways' = $router ]"
run_on lan 3 x 1 2 3
: >"$work/lan.addrs"
: >"$work/lan.macs"
for i in 1 2 3; do
  for k in 1 2 3; do
    ip_of $i "lan-x-$i-$k" lan >>"$work/lan.addrs"
    mac_of $i "lan-x-$i-$k" lan >>"$work/lan.macs"
  done
done
check "weave: 9 macvlan containers started at once on 3 hosts get unique addresses in 10.60.2.0/24" \
  "[ \$(grep -c . $work/lan.addrs) = 9 ] && unique_in $work/lan.addrs 10.60.2.0/24 && ! grep -qx $router $work/lan.addrs"
check "and unique MACs" "[ \$(grep -c . $work/lan.macs) = 9 ] && no_repeats $work/lan.macs"
# Every peer holds the router for the pool's gateway; nothing else is held twice.
gateway_held() { cli "$1" ps | grep -x "gateway:weave-10.60.2.0/24 $router/24" >/dev/null; }
check "each host's peer holds the router as its pool's gateway" \
  "gateway_held 1 && gateway_held 2 && gateway_held 3"
for i in 1 2 3; do held $i; done | grep -vx $router >"$work/all.held"
check "no other address is held by two peers after both networks" "no_repeats $work/all.held"
pings=0
routed=0
for i in 1 2 3; do
  dk $i exec "lan-x-$i-3" ping -c 1 -W 3 $router >/dev/null 2>&1 && routed=$((routed + 1))
  for j in 1 2 3; do
    [ $i = $j ] && continue
    if dk $i exec "lan-x-$i-1" ping -c 1 -W 3 "$(ip_of $j "lan-x-$j-2" lan)" >/dev/null 2>&1; then
      pings=$((pings + 1))
    fi
  done
done
check "containers ping each other across hosts over the macvlan LAN ($pings of 6)" "[ $pings = 6 ]"
check "and a container on every host reaches the router, its gateway ($routed of 3)" "[ $routed = 3 ]"
check "a container asking for the router's address is refused on every host" \
  "! dk 1 run --rm --net lan --ip $router $image true 2>/dev/null && ! dk 3 run --rm --net lan --ip $router $image true 2>/dev/null"
# The router stays held while any host's network names it, whichever host goes first.
refused_claim() { ! cli "$1" claim probe $router/24 >"$work/claim.out" 2>&1 && grep -q 'in use' "$work/claim.out"; }
for i in 1 2 3; do for k in 1 2 3; do dk $i rm -f "lan-x-$i-$k" >/dev/null; done; done
gone=""
for i in 1 2; do
  dk $i network rm lan >/dev/null || bad "host $i: docker network rm lan"
  gone="$gone $i"
  check "with the network gone from host(s)$gone, neither a container on host 3 nor a claim on hosts 1 and 2 takes the router" \
    "! dk 3 run --rm --net lan --ip $router $image true 2>/dev/null && refused_claim 1 && refused_claim 2"
done
dk 3 network rm lan >/dev/null || bad "host 3: docker network rm lan"
check "once no host's network names it, no peer holds the router" \
  "until_true 20 '! { held 1; held 2; held 3; } | grep -qx $router'"
[ -s "$work/run.err" ] && { echo "docker run errors:"; cat "$work/run.err"; }

save_logs
took=$SECONDS
"$hosts" down >"$work/down.log" 2>&1 || { bad "hosts.sh down"; cat "$work/down.log"; }
check "hosts.sh down ($((SECONDS - took)) s) leaves no network namespace (so no veth or LAN bridge)" \
  "[ -z \"\$(ip netns list | grep '^$prefix-')\" ]"
check "no process of ours is left (dockerd, containerd, shims, weave-ipam)" \
  "[ -z \"\$(grep -l '$work/host[s]/' /proc/[0-9]*/cmdline 2>/dev/null)\" ]"
check "no bridge or veth of ours in the root namespace, no mount, no state" \
  "[ -z \"\$(ip -br link | grep -E '^(lan|h[0-9]|lan0)[ @]')\" ] && ! grep -qF '$work' /proc/self/mountinfo && [ ! -e $work/hosts ]"
check "a second down is a no-op" "'$hosts' down >/dev/null 2>&1"
echo "multi-host test took $SECONDS s"
report
