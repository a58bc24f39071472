#!/usr/bin/env bash
# Builds weave-ipam as a managed (v2) Docker plugin and creates it in the local dockerd:
# a rootfs holding only the static binary, and plugin-config/config.json.
#   scripts/build-plugin.sh [NAME]          default NAME weave-ipam:latest
# WIPAM_STATIC_BINARY=path uses that binary instead of building one. Then, e.g.:
#   docker plugin set weave-ipam:latest IPALLOC_RANGE=10.40.0.0/16
#   docker plugin enable weave-ipam:latest
#   docker network create --ipam-driver weave-ipam:latest --subnet 10.40.1.0/24 net1
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-weave-ipam:latest}
bin=${WIPAM_STATIC_BINARY:-}
if [ -z "$bin" ]; then
  bin=$(scripts/build-static.sh | tail -1)
fi
dir=build/plugin
rm -rf "$dir"
# Mount points and the socket directory must exist in the rootfs; nothing else is needed.
mkdir -p "$dir/rootfs"/{run/docker/plugins,run/weave-ipam,var/lib/weave-ipam,var/run,tmp}
cp "$bin" "$dir/rootfs/weave-ipam"
cp plugin-config/config.json "$dir/config.json"
docker plugin rm -f "$name" >/dev/null 2>&1 || true
docker plugin create "$name" "$dir" >/dev/null
echo "created plugin $name (enable it with: docker plugin enable $name)"
