#!/usr/bin/env bash
# Real Podman (4.3, CNI backend) with Debian's bridge plugin and weave-ipam-cni as its IPAM,
# dual-stack (host-local's "ranges": an IPv4 and an IPv6 range set), against a real daemon
# serving both families: each container sees one address of each family (`ip addr` inside
# it), unique; --ip6 (sent as CNI_ARGS IP=) is honoured and a conflicting one refused; removing
# a container frees both addresses. Installs podman if missing (scripts/setup.sh podman).
# Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/wipam-podman.XXXXXX)
source "$here/tests/e2e/lib.sh"
reserve_ports || exit 1
net=wipam6-$$
bridge=wipam6br$((port_base / 100 % 1000))
daemon=
names=()

pm() { CONTAINERS_CONF="$work/containers.conf" timeout 120 podman "$@"; }
run() { # run NAME [podman run flags]: a detached container on the dual-stack network
  local name=$1; shift
  names+=("$name")
  pm run -d --name "$name" --network "$net" --runtime runc --ulimit nofile=1024:1024 \
    --ulimit nproc=1024:1024 "$@" --rootfs "$work/root" sleep 600 >/dev/null 2>>"$work/podman.err" ||
    { tail -3 "$work/podman.err"; return 1; }
}
addrs() { pm exec "$1" ip addr show eth0 | awk '$1 == "inet" || ($1 == "inet6" && $4 == "global") {print $2}'; }
held() { "$bin" --admin-socket "$work/a.sock" ps; }
cleanup() {
  for n in "${names[@]}"; do pm rm -f -t 0 "$n" >/dev/null 2>&1; done
  [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  ip link del "$bridge" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$here/scripts/setup.sh" podman || { echo "0 passed, 1 failed (podman could not be installed)"; exit 1; }
mkdir -p "$work/plugins" "$work/net.d" "$work/root/bin"
cp /usr/lib/cni/* "$work/plugins/"
ln -s "$bin" "$work/plugins/weave-ipam-cni"
cp "$(command -v busybox)" "$work/root/bin/busybox"
for app in sh ip sleep; do ln -s busybox "$work/root/bin/$app"; done
cat >"$work/containers.conf" <<CONF
[network]
network_backend = "cni"
cni_plugin_dirs = ["$work/plugins"]
network_config_dir = "$work/net.d"
CONF
# Debian's plugins refuse cniVersion 1.1.0, so the conflist says 1.0.0.
cat >"$work/net.d/$net.conflist" <<CONF
{"cniVersion": "1.0.0", "name": "$net", "plugins": [{"type": "bridge", "bridge": "$bridge",
  "isGateway": true, "ipam": {"type": "weave-ipam-cni", "admin_socket": "$work/a.sock",
  "ranges": [[{"subnet": "10.58.1.0/24", "gateway": "10.58.1.1"}],
             [{"subnet": "fd00:58:0:1::/64", "gateway": "fd00:58:0:1::1"}]]}}]}
CONF

"$bin" launch --db-path "$work/state" --plugin-socket "$work/p.sock" --admin-socket "$work/a.sock" \
  --http-addr "" --docker-api "" --port $((port_base + 1)) --ipalloc-range 10.58.0.0/16 \
  --ipalloc-range fd00:58::/48 --ipalloc-init consensus=1 >>"$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$work/a.sock" ] && break; sleep 0.1; done
[ -S "$work/a.sock" ] || { echo "the daemon did not start"; cat "$work/daemon.log"; exit 1; }

ok_all=true
for i in 1 2 3; do run "pm$i-$$" || ok_all=false; done
check "three containers start on the dual-stack network" "$ok_all"
all=$(for i in 1 2 3; do addrs "pm$i-$$"; done)
echo "addresses: $(echo $all)"
check "each container sees an IPv4 and an IPv6 address in its set's subnet" \
  "[ \$(echo \"$all\" | grep -c '^10\.58\.1\..*/24$') = 3 ] && [ \$(echo \"$all\" | grep -c '^fd00:58:0:1:.*/64$') = 3 ]"
check "no two containers share an address" "[ -z \"\$(echo \"$all\" | sort | uniq -d)\" ]"
check "the daemon holds both addresses of each attachment" \
  "[ \$(held | grep -c '^cni:$net:.* 10\.58\.1\.[0-9]*/24 fd00:58:0:1:[0-9a-f:]*/64$') = 3 ]"

run "pmip-$$" --ip6 fd00:58:0:1::66
check "--ip6 gives exactly that address" "addrs pmip-$$ | grep -qx 'fd00:58:0:1::66/64'"
check "a conflicting --ip6 is refused" "! run pmipx-$$ --ip6 fd00:58:0:1::66"
check "and leaves no address behind for it" "[ \$(held | grep -c '^cni:$net:') = 4 ]"

gone=$(addrs "pm2-$$" | tr '\n' ' ')
pm rm -f -t 0 "pm2-$$" >/dev/null
check "removing a container frees both its addresses ($gone)" \
  "! held | grep -qw \"\$(echo $gone | cut -d' ' -f1)\" && ! held | grep -qw \"\$(echo $gone | cut -d' ' -f2)\""

report
