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
#     addresses and MACs and ping each other across hosts over the LAN;
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

# The same LAN with weave's IPAM on all three hosts.
for i in 1 2 3; do
  dk $i network create -d macvlan -o parent=lan0 --ipam-driver $driver --subnet 10.60.2.0/24 lan >/dev/null ||
    bad "host $i: macvlan network with --ipam-driver $driver"
done
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
  "[ \$(grep -c . $work/lan.addrs) = 9 ] && unique_in $work/lan.addrs 10.60.2.0/24"
check "and unique MACs" "[ \$(grep -c . $work/lan.macs) = 9 ] && no_repeats $work/lan.macs"
for i in 1 2 3; do held $i; done >"$work/all.held"
check "no address is held by two peers after both networks" "no_repeats $work/all.held"
pings=0
for i in 1 2 3; do
  for j in 1 2 3; do
    [ $i = $j ] && continue
    if dk $i exec "lan-x-$i-1" ping -c 1 -W 3 "$(ip_of $j "lan-x-$j-2" lan)" >/dev/null 2>&1; then
      pings=$((pings + 1))
    fi
  done
done
check "containers ping each other across hosts over the macvlan LAN ($pings of 6)" "[ $pings = 6 ]"
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
