#!/usr/bin/env bash
# Installs weave-ipam's build and test dependencies from Debian packages.
# Idempotent: runs `apt-get update` at most once and installs only what is missing.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config clang-format
  clang libclang-rt-14-dev  # scripts/fuzz.sh: clang 14 and its libFuzzer runtime
  libboost-dev libboost-system-dev
  nlohmann-json3-dev libleveldb-dev libsnappy-dev
  libgtest-dev googletest libssl-dev
  iproute2 procps
)
# Extra groups, named on the command line: `setup.sh docker browser podman`.
for extra in "$@"; do
  case "$extra" in
    docker) packages+=(docker.io busybox-static) ;;
    browser) packages+=(chromium) ;;
    podman) packages+=(podman containernetworking-plugins runc busybox-static) ;;
    *) echo "setup.sh: unknown extra '$extra' (known: docker, browser, podman)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/weave-ipam-updated
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
  $sudo apt-get update -qq
  $sudo mkdir -p "$(dirname "$stamp")" && $sudo touch "$stamp"
fi
echo "setup.sh: installing ${missing[*]}"
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
