#!/usr/bin/env bash
# The CNI IPAM plugin run exactly as a container runtime runs it (a symlink named
# weave-ipam-cni, CNI_* variables, the network configuration on stdin) against one real
# daemon: VERSION, STATUS, ADD (idempotent; requested addresses from runtimeConfig, args and
# CNI_ARGS; a conflicting request refused with the spec's error JSON; 8 concurrent ADDs get
# 8 distinct addresses), CHECK, DEL (repeatable), GC with a valid-attachments list that
# touches only its own network's attachments (a second network shares the subnet), owners
# from before issue #11 ("cni:<container>:<ifname>": kept by GC, honoured by CHECK, freed by
# DEL), bad input, and once the daemon is stopped STATUS code 50 and DEL code 11.
# Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
work=$(mktemp -d /tmp/wipam-cni.XXXXXX)
source "$(dirname "$0")/lib.sh"
reserve_ports || exit 1
passed=0
failed=0
daemon=

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Runtimes execute the plugin named by ipam.type from CNI_PATH.
ln -s "$bin" "$work/weave-ipam-cni"
plugin="$work/weave-ipam-cni"

# cni COMMAND [CONTAINER [IFNAME]] <config: runs the plugin with only the CNI_* variables
# (and CNI_ARGS if set); its stdout goes to $OUT (default $work/out), its exit code to $OUT.rc.
cni() {
  local o=${OUT:-$work/out}
  local vars=(CNI_COMMAND="$1" CNI_PATH="$work")
  [ -n "${2:-}" ] && vars+=(CNI_CONTAINERID="$2" CNI_NETNS="/var/run/netns/$2" CNI_IFNAME="${3:-eth0}")
  [ -n "${CNI_ARGS:-}" ] && vars+=(CNI_ARGS="$CNI_ARGS")
  env -i PATH="$PATH" "${vars[@]}" "$plugin" >"$o"
  echo $? >"$o.rc"
}
rc() { cat "$work/out.rc"; }
silent() { [ "$(rc)" = 0 ] && [ ! -s "$work/out" ]; }
# A field of the last output, as Python sees it: out 'd["ips"][0]["address"]'.
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
out() { jget "$1" <"$work/out"; }
failed_with() { [ "$(rc)" = 1 ] && [ "$(out 'd["code"]')" = "$1" ]; }
addr() { out 'd["ips"][0]["address"]'; }
# The network configuration, with extra top-level fields ($1) and a cniVersion ($2).
net() {
  echo "{\"cniVersion\":\"${2:-1.1.0}\",\"name\":\"mynet\",\"type\":\"bridge\",${1:+$1,}
   \"ipam\":{\"type\":\"weave-ipam-cni\",\"subnet\":\"10.55.1.0/24\",\"gateway\":\"10.55.1.1\",
   \"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"admin_socket\":\"$work/a.sock\"}}"
}
# The same configuration for a second network on the same subnet and gateway.
net2() { net "$@" | sed 's/"name":"mynet"/"name":"othernet"/'; }
owners() { "$bin" --admin-socket "$work/a.sock" ps | awk '{print $1}' | LC_ALL=C sort | tr '\n' ' '; }
held_by() { "$bin" --admin-socket "$work/a.sock" ps | awk -v o="$1" '$1 == o {print $2}'; }

"$bin" launch --db-path "$work/state" --plugin-socket "$work/p.sock" --admin-socket "$work/a.sock" \
  --http-addr "" --docker-api "" --port $((port_base + 1)) --ipalloc-range 10.55.0.0/16 \
  --ipalloc-init consensus=1 >>"$work/log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$work/a.sock" ] && break; sleep 0.1; done
[ -S "$work/a.sock" ] || { echo "the daemon did not start"; cat "$work/log"; exit 1; }

cni VERSION </dev/null
versions=$(out '",".join(d["supportedVersions"])')
check "VERSION lists 0.4.0, 1.0.0 and 1.1.0" '[ "$versions" = 0.4.0,1.0.0,1.1.0 ]'
check "weave-ipam cni is the same plugin" \
  '[ "$(CNI_COMMAND=VERSION "$bin" cni </dev/null)" = "$(cat "$work/out")" ]'
net | cni STATUS
check "STATUS of a fresh daemon succeeds silently" 'silent'

net | cni ADD c1
a1=$(addr)
rest=$(out '" ".join([d["ips"][0]["gateway"], json.dumps(d["routes"]), d["cniVersion"]])')
check "ADD gives an address in the subnet ($a1)" '[ "$(rc)" = 0 ] && [[ $a1 == 10.55.1.*/24 ]]'
check "the result has the gateway, the routes and the request's cniVersion" \
  '[ "$rest" = "10.55.1.1 [{\"dst\": \"0.0.0.0/0\"}] 1.1.0" ]'
check "the gateway is held so no container gets it" '[ "$(held_by cni-gateway:10.55.1.1)" = 10.55.1.1/24 ]'
net | cni ADD c1
check "ADD again for the same container is idempotent" '[ "$(addr)" = "$a1" ]'
check "the daemon holds it as cni:mynet:c1:eth0" '[ "$(held_by cni:mynet:c1:eth0)" = "$a1" ]'

net '"runtimeConfig":{"ips":["10.55.1.77"]}' | cni ADD c2
check "ADD with runtimeConfig ips gets exactly that address" \
  '[ "$(addr)" = 10.55.1.77/24 ]'
net | CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.55.1.78" cni ADD c3
check "ADD with CNI_ARGS IP= gets exactly that address" \
  '[ "$(addr)" = 10.55.1.78/24 ]'
net '"args":{"cni":{"ips":["10.55.1.77"]}}' | cni ADD c4
cat "$work/out"
check "a requested address in use fails with the CNI error JSON" \
  'failed_with 100 && [[ $(out "d[\"msg\"]") == *"already in use"* ]] && [ "$(out "d[\"cniVersion\"]")" = 1.1.0 ]'
check "the failed ADD holds nothing" '[ -z "$(held_by cni:mynet:c4:eth0)" ]'
net '' 0.4.0 | cni ADD c5
ipv=$(out 'd["ips"][0]["version"]')
check "cniVersion 0.4.0 results carry the ip version" '[ "$ipv" = 4 ]'

adders=()
for i in $(seq 8); do (net | OUT="$work/k$i" cni ADD "k$i") & adders+=($!); done
wait "${adders[@]}"
addrs=$(for i in $(seq 8); do jget 'd["ips"][0]["address"]' <"$work/k$i" 2>/dev/null; done)
echo "concurrent ADDs:" $addrs
check "8 concurrent ADDs get 8 distinct addresses in the subnet" \
  '[ "$(grep -c "^10\.55\.1\.[0-9]*/24$" <<<"$addrs")" = 8 ] && [ "$(sort -u <<<"$addrs" | wc -l)" = 8 ]'

net | cni CHECK c1
check "CHECK of an added container succeeds silently" 'silent'
net "\"prevResult\":{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"$a1\"}]}" | cni CHECK c1
check "CHECK with a matching prevResult succeeds" 'silent'
net '"prevResult":{"cniVersion":"1.1.0","ips":[{"address":"10.55.1.250/24"}]}' | cni CHECK c1
check "CHECK with a prevResult address the daemon does not hold fails" 'failed_with 101'
net | cni CHECK nosuch
check "CHECK of an unknown container fails with code 3" 'failed_with 3'

net | cni DEL c1
check "DEL releases the container's address" 'silent && [ -z "$(held_by cni:mynet:c1:eth0)" ]'
net | cni DEL c1
check "DEL repeated succeeds" 'silent'
net | cni CHECK c1
check "CHECK after DEL fails with code 3" 'failed_with 3'

# othernet shares mynet's subnet: GC used to tell networks apart by subnet and would have
# released these. c2 is in both networks (eth0 in mynet, net1 in othernet); k3 only in
# othernet is listed. cni:legacy1:eth0 is an attachment a version before issue #11 added.
net2 | cni ADD o1
net2 | cni ADD c2 net1
net2 | cni ADD k3 net1
check "a second network gets its own owners (cni:othernet:...)" \
  '[ -n "$(held_by cni:othernet:o1:eth0)" ] && [ -n "$(held_by cni:othernet:c2:net1)" ]'
"$bin" --admin-socket "$work/a.sock" claim cni:legacy1:eth0 10.55.1.200 >/dev/null
net | cni CHECK legacy1
check "CHECK honours an attachment held under its legacy owner" 'silent'

net '"cni.dev/valid-attachments":[{"containerID":"c2","ifname":"eth0"},{"containerID":"k1","ifname":"eth0"},{"containerID":"k2"}]' |
  cni GC
check "GC succeeds silently" 'silent'
held=$(owners)
check "GC of mynet keeps its valid attachments, the gateway, othernet's and the legacy owner ($held)" \
  '[ "$held" = "cni-gateway:10.55.1.1 cni:legacy1:eth0 cni:mynet:c2:eth0 cni:mynet:k1:eth0 cni:mynet:k2:eth0 cni:othernet:c2:net1 cni:othernet:k3:net1 cni:othernet:o1:eth0 " ]'
net2 '"cni.dev/valid-attachments":[{"containerID":"o1","ifname":"eth0"}]' | cni GC
held=$(owners)
check "GC of othernet releases only othernet's stale attachments ($held)" \
  'silent && [ "$held" = "cni-gateway:10.55.1.1 cni:legacy1:eth0 cni:mynet:c2:eth0 cni:mynet:k1:eth0 cni:mynet:k2:eth0 cni:othernet:o1:eth0 " ]'
net | cni DEL legacy1
check "DEL releases an attachment held under its legacy owner" \
  'silent && [ -z "$(held_by cni:legacy1:eth0)" ]'
net2 | cni DEL o1
check "DEL on othernet releases only its attachment" \
  'silent && [ -z "$(held_by cni:othernet:o1:eth0)" ] && [ -n "$(held_by cni:mynet:c2:eth0)" ]'

echo '{"cniVersion": "1.1.0", "ipam": ' | cni ADD c6
check "bad JSON is code 6" 'failed_with 6'
net | env -i CNI_COMMAND=ADD CNI_IFNAME=eth0 CNI_NETNS=/x "$plugin" >"$work/out"
echo $? >"$work/out.rc"
check "a missing CNI_CONTAINERID is code 4" 'failed_with 4'
net '' 0.2.0 | cni ADD c6
check "an unsupported cniVersion is code 1" 'failed_with 1'
net '"runtimeConfig":{"ips":["10.99.0.1"]}' | cni ADD c6
check "a requested address outside the subnet is code 7" 'failed_with 7'

kill -TERM "$daemon"
wait "$daemon" 2>/dev/null
daemon=
net | cni STATUS
cat "$work/out"
check "STATUS of a stopped daemon fails with code 50" 'failed_with 50'
net | cni DEL c2
cat "$work/out"
check "DEL with the daemon stopped fails with code 11 (try again later)" 'failed_with 11'

[ $failed -eq 0 ] || { echo "--- daemon log ---"; tail -20 "$work/log"; }
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
