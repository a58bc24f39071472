#!/usr/bin/env bash
# Fails if a tracked C++ file is not clang-formatted, or if a layer includes an outer one:
# ring/ is pure (no Boost, LevelDB, OpenSSL, sockets, threads or clocks), gossip/ may not
# include driver/.
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
[ $status -eq 0 ] && echo "check-style: formatting and layering OK (${#files[@]} files)"
exit $status
