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
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/wipam-mh.XXXXXX)
hosts=$here/scripts/hosts.sh
image=wipam-test/busybox:latest
prefix=wmh$$
export WIPAM_BIN=$bin WIPAM_HOSTS_DIR=$work/hosts WIPAM_HOSTS_PREFIX=$prefix
export WIPAM_HOSTS_RANGE=10.60.0.0/16

. "$(dirname "$0")/lib.sh"

dk() { local i=$1; shift; docker -H "unix://$work/hosts/h$i/docker.sock" "$@"; }
cli() { local i=$1; shift; "$bin" --admin-socket "$work/hosts/h$i/admin.sock" "$@"; }
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
mac_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").MacAddress}}" "$2"; }
# Every address host I's peer holds, one per line.
held() { cli "$1" --json ps | python3 -c 'import json,sys; [print(a.split("/")[0]) for l in json.load(sys.stdin).values() for a in l]'; }
# True iff every line of FILE is an address inside CIDR and no line repeats.
unique_in() {
  python3 -c 'import ipaddress,sys
n=ipaddress.ip_network(sys.argv[2]); a=[l.strip() for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if a and len(set(a))==len(a) and all(ipaddress.ip_address(x) in n for x in a) else 1)' "$1" "$2"
}
# True iff from host I's namespace, host J's status page answers, for all I and J.
reaches() { nsenter --net="/var/run/netns/$prefix-h$1" curl -sf -m 5 "http://10.200.0.$2:6784/status" | grep -qF "\"nickname\":\"host$2\""; }
# True iff host I's peer holds the address of container n-I-K.
recorded() { held "$1" | grep -qx "$(ip_of "$1" "n-$1-$2" n)"; }
# for_each N FN: true iff FN I J is, for every host I and J in 1..N.
for_each() {
  local i j
  for i in 1 2 3; do for j in $(seq "$1"); do "$2" $i "$j" || return 1; done; done
}
no_repeats() { [ -z "$(sort "$1" | uniq -d)" ]; }

# run_everywhere NET COUNT: COUNT containers NET-I-K on each host, all started at once.
run_everywhere() {
  local net=$1 count=$2 i k pids=() p
  for i in 1 2 3; do
    for k in $(seq "$count"); do
      dk "$i" run -d --name "$net-$i-$k" --net "$net" $image sleep 600 >/dev/null 2>>"$work/run.err" &
      pids+=($!)
    done
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

# The hosts' logs go to daemon.log (report tails it on failure) before `down` removes them.
save_logs() {
  [ -d "$work/hosts" ] || return 0
  for i in 1 2 3; do
    for log in weave dockerd; do
      [ -f "$work/hosts/h$i/$log.log" ] || continue
      { echo "--- host $i $log.log ---"; tail -25 "$work/hosts/h$i/$log.log"; } >>"$work/daemon.log"
    done
  done
}
cleanup() {
  [ -d "$work/hosts" ] && "$hosts" down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

"$here/scripts/setup.sh" docker || { echo "0 passed, 1 failed"; exit 1; }
start=$SECONDS
if ! "$hosts" up 3 >"$work/up.log" 2>&1; then
  bad "hosts.sh up 3"
  cat "$work/up.log"
  report
  exit 1
fi
ok "hosts.sh up 3 ($((SECONDS - start)) s)"
ids=$(for i in 1 2 3; do dk $i info --format '{{.ID}}'; done | sort -u | wc -l)
check "three dockerds with three IDs" "[ $ids = 3 ]"
check "each host reaches every weave-ipam over the LAN (GET /status on 10.200.0.J)" \
  "for_each 3 reaches"
check "the per-host plugin directories are mounted only inside each dockerd's namespace" \
  "! grep -qF '$work' /proc/self/mountinfo"

# A bridge network with one subnet on every host, containers on all three at once.
for i in 1 2 3; do
  dk $i network create --ipam-driver weave --subnet 10.60.1.0/24 n >/dev/null ||
    bad "host $i: docker network create --ipam-driver weave --subnet 10.60.1.0/24 n"
done
run_everywhere n 4
: >"$work/n.addrs"
for i in 1 2 3; do for k in 1 2 3 4; do ip_of $i "n-$i-$k" n >>"$work/n.addrs"; done; done
check "12 containers on 3 hosts run with 12 addresses ($(grep -c . "$work/n.addrs") given)" \
  "[ \"\$(dk 1 ps -q | wc -l)\$(dk 2 ps -q | wc -l)\$(dk 3 ps -q | wc -l)\" = 444 ] && [ \$(grep -c . $work/n.addrs) = 12 ]"
check "all container addresses are unique across hosts and inside 10.60.1.0/24" \
  "unique_in $work/n.addrs 10.60.1.0/24"
for i in 1 2 3; do held $i; done >"$work/n.held"
check "no address (gateways included) is held by two peers ($(grep -c . "$work/n.held") held)" \
  "no_repeats $work/n.held"
check "each container's address is recorded by its own host's peer" "for_each 4 recorded"

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
  dk $i network create -d macvlan -o parent=lan0 --ipam-driver weave --subnet 10.60.2.0/24 lan >/dev/null ||
    bad "host $i: macvlan network with --ipam-driver weave"
done
run_everywhere lan 3
: >"$work/lan.addrs"
: >"$work/lan.macs"
for i in 1 2 3; do
  for k in 1 2 3; do
    ip_of $i "lan-$i-$k" lan >>"$work/lan.addrs"
    mac_of $i "lan-$i-$k" lan >>"$work/lan.macs"
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
    if dk $i exec "lan-$i-1" ping -c 1 -W 3 "$(ip_of $j "lan-$j-2" lan)" >/dev/null 2>&1; then
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
  "! ip netns list | grep -q '^$prefix-'"
check "no process of ours is left (dockerd, containerd, shims, weave-ipam)" \
  "! grep -l '$work/host[s]/' /proc/[0-9]*/cmdline 2>/dev/null | grep -q ."
check "no bridge or veth of ours in the root namespace, no mount, no state" \
  "! ip -br link | grep -qE '^(lan|h[0-9]|lan0)[ @]' && ! grep -qF '$work' /proc/self/mountinfo && [ ! -e $work/hosts ]"
check "a second down is a no-op" "'$hosts' down >/dev/null 2>&1"
echo "multi-host test took $SECONDS s"
report
