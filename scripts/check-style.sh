#!/usr/bin/env bash
# Fails if a tracked C++ file is not clang-formatted, or if a layer includes an outer one:
# ring/ is pure (no Boost, LevelDB, OpenSSL, sockets, threads or clocks), gossip/ may not
# include driver/, and inside driver/ each door includes only the floors below it
# (DESIGN.md "Layout").
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.cc' '*.h')
if [ ${#files[@]} -gt 0 ]; then
  if ! clang-format --dry-run -Werror "${files[@]}" 2>/tmp/wipam-format.log; then
    echo "check-style: these files need clang-format -i:" >&2
    grep -oE '^[^:]+\.(cc|h)' /tmp/wipam-format.log | sort -u >&2
    status=1
  fi
fi

ring_bad=$(grep -nE '#include *[<"](boost/|leveldb/|openssl/|gossip/|driver/|thread>|mutex>|random>|sys/socket|fstream>|iostream>)|(steady_clock|system_clock|high_resolution_clock)' ring/*.h ring/*.cc 2>/dev/null || true)
if [ -n "$ring_bad" ]; then
  echo "check-style: ring/ must stay pure (no I/O, threads, clocks or outer layers):" >&2
  echo "$ring_bad" >&2
  status=1
fi
gossip_bad=$(grep -nE '#include *"driver/' gossip/*.h gossip/*.cc 2>/dev/null || true)
if [ -n "$gossip_bad" ]; then
  echo "check-style: gossip/ may not include driver/:" >&2
  echo "$gossip_bad" >&2
  status=1
fi
# driver/<folder> may include only these driver/ folders besides its own; main.cc, on top,
# may include any of them.
declare -A driver_allowed=(
  [base]=""
  [http]="base"
  [store]="base"
  [docker]="base http store"
  [admin]="base http store docker"
  [client]="base http"
  [daemon]="base http store docker admin"
)
for folder in "${!driver_allowed[@]}"; do
  allowed="$folder ${driver_allowed[$folder]}"
  pattern=$(echo "$allowed" | tr -s ' ' '\n' | grep -v '^$' | paste -sd'|')
  bad=$(grep -nE '#include *"driver/' driver/"$folder"/*.h driver/"$folder"/*.cc 2>/dev/null |
    grep -vE "#include *\"driver/($pattern)/" || true)
  if [ -n "$bad" ]; then
    echo "check-style: driver/$folder/ may include only driver/{${allowed// /,}}/:" >&2
    echo "$bad" >&2
    status=1
  fi
done
stray=$(git ls-files 'driver/*.cc' 'driver/*.h' | grep -vE '^driver/([a-z]+/[^/]+|main\.cc)$' || true)
if [ -n "$stray" ]; then
  echo "check-style: driver/ sources belong in a door's folder (only main.cc sits on top):" >&2
  echo "$stray" >&2
  status=1
fi
unknown=$(git ls-files 'driver/*/*' | cut -d/ -f2 | sort -u | while read -r f; do
  [ -n "${driver_allowed[$f]+x}" ] || echo "driver/$f/"; done)
if [ -n "$unknown" ]; then
  echo "check-style: a driver/ folder with no arrows in check-style.sh: $unknown" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-style: formatting and layering OK (${#files[@]} files)"
exit $status
