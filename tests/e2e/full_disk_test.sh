#!/usr/bin/env bash
# A store write that fails (a full disk: a small tmpfs as --db-path) stops the daemon with a
# non-zero exit and the reason; nothing it decided after the failure was acknowledged, and
# after space is freed a restart still holds every acknowledged allocation and gives none of
# them out again. Needs root (mount). Prints "N passed, M failed".
set -uo pipefail
bin=$(readlink -f "$1")
work=$(mktemp -d /tmp/wipam-disk.XXXXXX)
disk=$work/disk
sock=$work/plugin.sock
admin=$work/admin.sock
pid=

. "$(dirname "$0")/lib.sh"

cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  umount "$disk" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

start_daemon() {
  "$bin" launch --db-path "$disk/state" --plugin-socket "$sock" --admin-socket "$admin" \
    --http-addr "" --docker-api "" --port $((20000 + ($$ + 11) % 20000)) --ipalloc-range 10.97.0.0/16 \
    --ipalloc-init consensus=1 --nickname disk >>"$work/daemon.log" 2>&1 &
  pid=$!
  wait_for_daemon
}
request() {  # prints "<http code> <address or error>"
  curl -s -m 5 -o "$work/body" -w '%{http_code}' --unix-socket "$sock" -X POST \
    -d '{"PoolID":"weave-10.97.1.0/24"}' http://x/IpamDriver.RequestAddress
  echo " $(python3 -c "import json; b=json.load(open('$work/body')); print(b.get('Address') or b.get('Err'))" 2>/dev/null)"
}
allocated() { curl -s --unix-socket "$admin" http://x/allocations | python3 -c "import json,sys; print(' '.join(sorted(json.load(sys.stdin))))"; }

mkdir -p "$disk"
mount -t tmpfs -o size=4m tmpfs "$disk" || { echo "0 passed, 1 failed (cannot mount a tmpfs)"; exit 1; }
start_daemon || { echo "0 passed, 1 failed"; exit 1; }
curl -s --unix-socket "$sock" -X POST -d '{"Pool":"10.97.1.0/24"}' http://x/IpamDriver.RequestPool >/dev/null
acked=""
for _ in 1 2 3; do
  r=$(request); [[ "$r" == 200* ]] && acked="$acked ${r#200 }"
done
check "allocations succeed while there is room ($acked)" "[ \$(echo $acked | wc -w) -eq 3 ]"
dd if=/dev/zero of="$disk/fill" bs=64k >/dev/null 2>&1  # until the disk is full
refused=0
for _ in $(seq 200); do
  kill -0 "$pid" 2>/dev/null || break
  r=$(request)
  if [[ "$r" == 200* ]]; then acked="$acked ${r#200 }"; else refused=$((refused + 1)); fi
done
wait "$pid"; rc=$?; pid=
check "the daemon stops by itself with a non-zero exit ($rc)" "[ $rc -ne 0 ]"
check "it says why" "grep -q 'weave-ipam: stopped: a store write in .* failed' $work/daemon.log"
check "requests after the failure were refused, not acknowledged ($refused refused)" "[ $refused -ge 1 ]"
rm -f "$disk/fill" "$sock"
start_daemon || bad "the daemon restarts once there is room"
held=" $(allocated) "
lost=0
for a in $acked; do [[ "$held" == *" ${a%/*} "* ]] || { echo "  lost: $a"; lost=1; }; done
check "every acknowledged allocation survived ($(echo $acked | wc -w))" "[ $lost = 0 ]"
r=$(request)
check "a new allocation is none of them (${r#200 })" "[[ '$r' == 200* ]] && [[ ' $acked ' != *' ${r#200 } '* ]]"
report
