#!/usr/bin/env bash
# Faults across several Docker hosts (issue 16), through each host's own dockerd, with
# scripts/hosts.sh up 3 and one bridge network `n` (10.60.3.0/24) created on every host:
#   - partition and heal: host 3 is cut off the LAN (its port on the LAN bridge goes down);
#     containers started on both sides all run, the isolated host serving from its own
#     space; after the heal, more containers start everywhere; no two running containers
#     on any host share an address, and no address is held by two peers;
#   - kill -9 of host 1's weave-ipam during a burst of `docker run` on host 1: after it
#     starts again, every running container's address is still recorded by host 1's peer,
#     nothing is given out twice, and host 1 hands out addresses again.
# Root; never touches the machine's own dockerd. Prints "N passed, M failed".
#   multi_host_faults_test.sh WEAVE-IPAM-BINARY
set -uo pipefail
prefix=wmf$$
range=10.60.0.0/16
. "$(dirname "$0")/multi_host_lib.sh"
subnet=10.60.3.0/24

# True iff the running containers of all hosts have distinct addresses in the subnet, and
# no address is held by two peers; COUNT, if given, is how many must be running.
all_unique() {
  running_addresses n 1 2 3 >"$work/running"
  for i in 1 2 3; do held "$i"; done >"$work/held"
  [ -z "${1:-}" ] || [ "$(grep -c . "$work/running")" = "$1" ] || return 1
  unique_in "$work/running" "$subnet" && no_repeats "$work/held"
}
# True iff every running container on host I has its address recorded by host I's peer.
all_recorded() {
  held "$1" >"$work/held.$1" || return 1
  for a in $(running_addresses n "$1"); do grep -qx "$a" "$work/held.$1" || return 1; done
}
running_on() { dk "$1" ps -q --filter network=n | wc -l; }
lan_port() { ip -n "$prefix-lan" link set "h$1" "$2"; }

up_hosts 3
for i in 1 2 3; do
  dk $i network create --ipam-driver $driver --subnet $subnet n >/dev/null ||
    bad "host $i: docker network create --ipam-driver $driver --subnet $subnet n"
done
# Each host's peer takes a share of the subnet before the cut.
run_on n 2 a 1 2 3
check "6 containers on 3 hosts run before the partition" "all_unique 6"

lan_port 3 down
check "host 3 is cut off the LAN" "! reaches 3 1 && ! reaches 1 3"
run_on n 3 b 1 2 3
check "during the partition host 3, isolated, still starts its 3 containers" \
  "[ \$(running_on 3) = 5 ]"
check "and hosts 1 and 2 start theirs" "[ \$(running_on 1) = 5 ] && [ \$(running_on 2) = 5 ]"
check "no two running containers share an address during the partition" "all_unique 15"

lan_port 3 up
check "after the heal host 3 reaches the others again" "until_true 30 'reaches 3 1 && reaches 1 3'"
# The peers find each other again (connection back-off), then all allocate.
check "and its peer reconnects to both" \
  "until_true 60 '[ \$(cli 3 status peers 2>/dev/null | grep -c direct) -ge 2 ]'"
run_on n 2 c 1 2 3
check "after the heal 6 more containers start, one address each, unique across hosts" \
  "all_unique 21"

# kill -9 of host 1's peer in the middle of a burst of docker run on host 1.
burst=()
for k in $(seq 8); do
  dk 1 run -d --name "n-burst-$k" --net n $image sleep 600 >/dev/null 2>>"$work/burst.err" &
  burst+=($!)
done
sleep 0.7
"$hosts" kill 1 2>>"$work/burst.err" || bad "hosts.sh kill 1"
for p in "${burst[@]}"; do wait "$p"; done
"$hosts" start 1 2>>"$work/burst.err" || bad "hosts.sh start 1"
echo "burst: $(($(running_on 1) - 7)) of 8 started around the kill ($(grep -c . "$work/burst.err") error lines)"
check "after kill -9 and restart, every running container on host 1 is still recorded" \
  "until_true 20 'all_recorded 1'"
check "and no address is given out twice on any host" "all_unique"
run_on n 2 d 1
check "host 1 hands out addresses again after its restart" \
  "[ \$(dk 1 ps -q --filter name=n-d-1 | wc -l) = 2 ] && all_unique && all_recorded 1"
[ -s "$work/run.err" ] && { echo "docker run errors:"; cat "$work/run.err"; }

save_logs
echo "multi-host faults test took $SECONDS s"
report
