#!/usr/bin/env bash
# The CNI plugin, run as a runtime runs it, with a dual-stack configuration (host-local's
# "ranges": an IPv4 and an IPv6 range set) against a real daemon serving both families: one
# ADD returns one address of each family, the gateway on its own; a requested IPv6 address
# is claimed in its set; CHECK holds both; DEL frees both; GC frees both of a stale
# attachment and keeps both of a valid one; cniVersion 0.4.0 and 1.0.0 work (Debian's
# plugins refuse 1.1.0). Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
work=$(mktemp -d /tmp/wipam-cni6.XXXXXX)
source "$(dirname "$0")/lib.sh"
reserve_ports || exit 1
daemon=

cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

ln -s "$bin" "$work/weave-ipam-cni"
cni() { # cni COMMAND CONTAINER <config; stdout to $work/out, exit code to $work/out.rc
  local vars=(CNI_COMMAND="$1" CNI_PATH="$work")
  [ -n "${2:-}" ] && vars+=(CNI_CONTAINERID="$2" CNI_NETNS="/var/run/netns/$2" CNI_IFNAME=eth0)
  [ -n "${CNI_ARGS:-}" ] && vars+=(CNI_ARGS="$CNI_ARGS")
  env -i PATH="$PATH" "${vars[@]}" "$work/weave-ipam-cni" >"$work/out"
  echo $? >"$work/out.rc"
}
rc() { cat "$work/out.rc"; }
out() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <"$work/out"; }
# A dual-stack configuration; $1 is the cniVersion, $2 extra top-level fields.
net() {
  echo "{\"cniVersion\":\"${1:-1.0.0}\",\"name\":\"dual\",\"type\":\"bridge\",${2:+$2,}
   \"ipam\":{\"type\":\"weave-ipam-cni\",\"admin_socket\":\"$work/a.sock\",\"ranges\":[
     [{\"subnet\":\"10.56.1.0/24\",\"gateway\":\"10.56.1.1\"}],
     [{\"subnet\":\"fd00:56:0:1::/64\",\"gateway\":\"fd00:56:0:1::1\"}]]}}"
}
held_by() { "$bin" --admin-socket "$work/a.sock" ps | awk -v o="$1" '$1 == o {$1=""; print substr($0, 2)}'; }

"$bin" launch --db-path "$work/state" --plugin-socket "$work/p.sock" --admin-socket "$work/a.sock" \
  --http-addr "" --docker-api "" --port $((port_base + 1)) --ipalloc-range 10.56.0.0/16 \
  --ipalloc-range fd00:56::/48 --ipalloc-init consensus=1 >>"$work/log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$work/a.sock" ] && break; sleep 0.1; done
[ -S "$work/a.sock" ] || { echo "the daemon did not start"; cat "$work/log"; exit 1; }

net | cni ADD c1
echo "ADD: $(cat "$work/out")"
check "one ADD returns two addresses" '[ "$(rc)" = 0 ] && [ "$(out "len(d[\"ips\"])")" = 2 ]'
v4=$(out 'd["ips"][0]["address"]')
v6=$(out 'd["ips"][1]["address"]')
check "one of each family, each in its set's subnet ($v4, $v6)" \
  '[[ $v4 == 10.56.1.*/24 ]] && [[ $v6 == fd00:56:0:1:*/64 ]]'
check "each address carries its own family's gateway" \
  '[ "$(out "d[\"ips\"][0][\"gateway\"] + \" \" + d[\"ips\"][1][\"gateway\"]")" = "10.56.1.1 fd00:56:0:1::1" ]'
check "the daemon holds both for the attachment" \
  '[ "$(held_by cni:dual:c1:eth0)" = "$v4 $v6" ]'
net | cni ADD c1
check "ADD again is idempotent" \
  '[ "$(out "d[\"ips\"][0][\"address\"] + \" \" + d[\"ips\"][1][\"address\"]")" = "$v4 $v6" ]'

CNI_ARGS="IgnoreUnknown=1;IP=fd00:56:0:1::42" cni ADD c2 < <(net 0.4.0)
check "a requested IPv6 address is claimed in its set, the IPv4 one allocated (0.4.0)" \
  '[ "$(rc)" = 0 ] && [ "$(out "d[\"ips\"][1][\"address\"]")" = fd00:56:0:1::42/64 ] && [ "$(out "d[\"ips\"][1][\"version\"]")" = 6 ] && [[ $(out "d[\"ips\"][0][\"address\"]") == 10.56.1.* ]]'
CNI_ARGS="IgnoreUnknown=1;IP=fd00:56:0:1::42" cni ADD c3 < <(net)
check "the same IPv6 address for another container is refused" '[ "$(rc)" = 1 ] && [ "$(out "d[\"code\"]")" = 100 ]'
check "and that ADD leaves nothing behind" '[ -z "$(held_by cni:dual:c3:eth0)" ]'

prev="\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"$v4\"},{\"address\":\"$v6\"}]}"
net 1.0.0 "$prev" | cni CHECK c1
check "CHECK finds both addresses held" '[ "$(rc)" = 0 ]'

net | cni DEL c1
check "DEL frees both addresses" '[ "$(rc)" = 0 ] && [ -z "$(held_by cni:dual:c1:eth0)" ]'
net | cni DEL c1
check "DEL again succeeds" '[ "$(rc)" = 0 ]'

net | cni ADD c4
net | cni ADD c5
valid='"cni.dev/valid-attachments":[{"containerID":"c5","ifname":"eth0"}]'
net 1.1.0 "$valid" | cni GC
check "GC frees both addresses of a stale attachment and keeps both of a valid one" \
  '[ "$(rc)" = 0 ] && [ -z "$(held_by cni:dual:c4:eth0)" ] && [ -z "$(held_by cni:dual:c2:eth0)" ] && [ "$(held_by cni:dual:c5:eth0 | wc -w)" = 2 ]'

# An IPv6-only network: one range set, of the IPv6 range.
v6only() {
  echo "{\"cniVersion\":\"1.0.0\",\"name\":\"six\",\"type\":\"bridge\",
   \"ipam\":{\"type\":\"weave-ipam-cni\",\"admin_socket\":\"$work/a.sock\",
   \"ranges\":[[{\"subnet\":\"fd00:56:0:2::/64\"}]]}}"
}
v6only | cni ADD c6
check "an IPv6-only configuration gets one IPv6 address and nothing else" \
  '[ "$(rc)" = 0 ] && [ "$(out "len(d[\"ips\"])")" = 1 ] && [[ $(out "d[\"ips\"][0][\"address\"]") == fd00:56:0:2:*/64 ]] && [ "$(held_by cni:six:c6:eth0 | wc -w)" = 1 ]'
v6only | cni DEL c6
check "its DEL frees it" '[ "$(rc)" = 0 ] && [ -z "$(held_by cni:six:c6:eth0)" ]'

report
