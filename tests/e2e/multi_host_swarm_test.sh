#!/usr/bin/env bash
# Docker Swarm across three hosts (issue 17): scripts/hosts.sh up 3 with the managed plugin
# on every host (swarm needs a v2 plugin, under the same name:tag everywhere), host 1 the
# manager and hosts 2 and 3 workers joined over the LAN. The manager allocates the overlay's
# pool, gateway and every task's address through its own peer; each worker's dockerd asks
# its own peer again for the gateway and for its tasks' addresses, requests that look exactly
# like a local `--ip`, and its peer joins the manager's offered allocation (ring/shares.h).
#   - a 6-replica service spreads 2 tasks per host, all Running, 6 unique addresses in the
#     subnet, each held by its host's peer;
#   - the plugin restarts on a worker and on the manager, each keeping what it held; then
#     the service's tasks are all rescheduled: they reach Running again with unique
#     addresses, none of them given twice;
#   - a local network's claim of a task's address is still refused on a worker;
#   - removing the service and the network frees every address in the subnet on every peer.
# Root; its own dockerds only. Prints "N passed, M failed".
#   multi_host_swarm_test.sh STATIC-BINARY
set -uo pipefail
prefix=wsw$$
range=10.62.0.0/16
set -- "$1" managed
. "$(dirname "$0")/multi_host_lib.sh"

subnet=10.62.1.0/24
svc=s
# Addresses a host's peer holds in the overlay's subnet, one per line.
held_in_subnet() { held "$1" | grep '^10\.62\.1\.' | sort -u; }
# "HOST ADDRESS" for every running task of the service, on every host.
task_addresses() {
  local i c
  for i in 1 2 3; do
    for c in $(dk $i ps -q --filter "label=com.docker.swarm.service.name=$svc"); do
      echo "$i $(ip_of $i "$c" ov)"
    done
  done
}
running_tasks() {
  dk 1 service ps "$svc" --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running'
}
# Every task's address is in the subnet, unique, and held by the peer of its host.
tasks_sound() {
  local lines
  task_addresses >"$work/tasks"
  lines=$(wc -l <"$work/tasks")
  [ "$lines" -eq "$1" ] || return 1
  cut -d' ' -f2 "$work/tasks" >"$work/task.addrs"
  unique_in "$work/task.addrs" $subnet || return 1
  while read -r i a; do held_in_subnet "$i" | grep -qx "$a" || return 1; done <"$work/tasks"
}
spread() { [ "$(cut -d' ' -f1 "$work/tasks" | sort | uniq -c | awk '{print $1}' | sort -u)" = 2 ]; }

up_hosts 3
check "host 1 starts a swarm on the LAN" "dk 1 swarm init --advertise-addr 10.200.0.1 >/dev/null"
token=$(dk 1 swarm join-token -q worker 2>/dev/null)
for i in 2 3; do
  check "host $i joins it as a worker" "dk $i swarm join --token '$token' 10.200.0.1:2377 >/dev/null"
done
check "the swarm has three ready nodes" \
  "until_true 30 '[ \$(dk 1 node ls --format \"{{.Status}}\" | grep -c Ready) -eq 3 ]'"
check "an attachable overlay with the plugin is created on the manager" \
  "dk 1 network create -d overlay --attachable --ipam-driver $driver --subnet $subnet ov >/dev/null"
check "a 6-replica service, at most 2 per node, is created" \
  "dk 1 service create --detach --no-resolve-image --name $svc --network ov --replicas 6 \
     --replicas-max-per-node 2 --endpoint-mode dnsrr $image sleep 600 >/dev/null"
check "all 6 tasks reach Running" "until_true 120 '[ \$(running_tasks) -eq 6 ]'"
check "6 unique task addresses in $subnet, each held by its host's peer" "until_true 20 'tasks_sound 6'"
check "2 tasks on each of the 3 hosts" "spread"
echo "tasks: $(tr '\n' ',' <"$work/tasks")"
first=$(awk '$1 == 2 {print $2; exit}' "$work/tasks")
dk 2 network create -d bridge --ipam-driver $driver --subnet 10.62.2.0/24 local >/dev/null ||
  bad "a local network on host 2"
check "a local network's claim of a used address is still refused on a worker" \
  "dk 2 run -d --name l1 --net local --ip 10.62.2.9 $image sleep 600 >/dev/null && \
   ! dk 3 run --rm --net ov --ip '$first' $image true >/dev/null 2>&1 && \
   ! dk 2 run --rm --net local --ip 10.62.2.9 $image true >/dev/null 2>&1"

# The plugin restarts on worker 2, then on the manager; then every task is rescheduled.
holds_own_tasks() { # HOST [ALSO]: HOST's peer holds the addresses of HOST's tasks (and ALSO's)
  local i a
  while read -r i a; do
    [ "$i" = "$1" ] || [ "$i" = "${2:-}" ] || continue
    held_in_subnet "$1" | grep -qx "$a" || return 1
  done <"$work/tasks"
}
dk 2 plugin disable -f "$driver" >/dev/null 2>&1
check "the plugin on host 2 restarts" "dk 2 plugin enable '$driver' >/dev/null"
check "host 2's peer still holds its tasks' addresses after the restart" \
  "until_true 20 'holds_own_tasks 2'"
dk 1 plugin disable -f "$driver" >/dev/null 2>&1
check "the plugin on the manager restarts" "dk 1 plugin enable '$driver' >/dev/null"
check "the manager's peer still holds its own tasks' and host 2's after the restart" \
  "until_true 20 'holds_own_tasks 1 2'"
check "a container on host 3 still cannot take a task's address" \
  "! dk 3 run --rm --net ov --ip '$first' $image true >/dev/null 2>&1"
dk 1 service update --detach --force "$svc" >/dev/null || bad "service update --force"
updated() { [ "$(dk 1 service inspect -f '{{.UpdateStatus.State}}' $svc)" = completed ]; }
check "every task is rescheduled and Running again" \
  "until_true 180 'updated && [ \$(running_tasks) -eq 6 ]'"
check "6 unique addresses again, each held by its host's peer" "until_true 20 'tasks_sound 6'"
for i in 1 2 3; do held_in_subnet $i; done | sort | uniq -c >"$work/held.counts"
echo "held in $subnet (count per address over the 3 peers): $(awk '{print $2 "x" $1}' "$work/held.counts" | tr '\n' ' ')"

dk 2 rm -f l1 >/dev/null 2>&1
dk 2 network rm local >/dev/null 2>&1
dk 1 service rm "$svc" >/dev/null
until_true 60 "dk 1 network rm ov >/dev/null 2>&1"
check "removing the service and the overlay frees every address in $subnet on every peer" \
  "until_true 120 '[ -z \"\$(held_in_subnet 1)\$(held_in_subnet 2)\$(held_in_subnet 3)\" ]'"
[ -s "$work/run.err" ] && { echo "docker run errors:"; cat "$work/run.err"; }
if [ "$failed" -ne 0 ]; then
  for i in 1 2 3; do echo "--- host $i held ---"; cli $i ps 2>&1 | tail -15; done
  dk 1 service ps --no-trunc "$svc" 2>/dev/null | head -20
fi
save_logs
echo "multi-host swarm test took $SECONDS s"
report
