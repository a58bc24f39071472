#!/usr/bin/env bash
# A store write that fails (a full disk: a small tmpfs as --db-path) stops the daemon with a
# non-zero exit and the reason; nothing it decided after the failure was acknowledged, and
# after space is freed a restart still holds every acknowledged allocation and gives none of
# them out again. The store's log has space reserved ahead (a preallocated chunk), so once
# the disk is full the allocations go on until that is used up: a keep-alive client drives
# them until the first refusal. Needs root (mount). Prints "N passed, M failed".
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
    -d '{"PoolID":"weave-10.97.0.0/16"}' http://x/IpamDriver.RequestAddress
  echo " $(python3 -c "import json; b=json.load(open('$work/body')); print(b.get('Address') or b.get('Err'))" 2>/dev/null)"
}
allocated() { curl -s --unix-socket "$admin" http://x/allocations | python3 -c "import json,sys; print(' '.join(sorted(json.load(sys.stdin))))"; }

mkdir -p "$disk"
mount -t tmpfs -o size=4m tmpfs "$disk" || { echo "0 passed, 1 failed (cannot mount a tmpfs)"; exit 1; }
start_daemon || { echo "0 passed, 1 failed"; exit 1; }
curl -s --unix-socket "$sock" -X POST -d '{"Pool":"10.97.0.0/16"}' http://x/IpamDriver.RequestPool >/dev/null
acked=""
for _ in 1 2 3; do
  r=$(request); [[ "$r" == 200* ]] && acked="$acked ${r#200 }"
done
check "allocations succeed while there is room ($acked)" "[ \$(echo $acked | wc -w) -eq 3 ]"
dd if=/dev/zero of="$disk/fill" bs=64k >/dev/null 2>&1  # until the disk is full
# Allocates over one keep-alive connection until a request is refused or the connection
# drops (at most 60 s): prints every acknowledged address, then "refused N".
python3 - "$sock" >"$work/burst" <<'PY'
import http.client, json, socket, sys, time
class Unix(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sys.argv[1])
conn, refused, deadline = Unix("x", timeout=5), 0, time.time() + 60
while time.time() < deadline:
    try:
        conn.request("POST", "/IpamDriver.RequestAddress", '{"PoolID":"weave-10.97.0.0/16"}')
        reply = conn.getresponse()
        body = json.loads(reply.read() or b"{}")
    except (OSError, http.client.HTTPException, ValueError):
        refused += 1
        break
    if reply.status != 200:
        refused += 1
        break
    print(body["Address"])
print("refused", refused)
PY
acked="$acked $(grep -v '^refused' "$work/burst" | tr '\n' ' ')"
refused=$(sed -n 's/^refused //p' "$work/burst")
echo "  $(grep -vc '^refused' "$work/burst") more acknowledged after the disk filled"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; bad "the daemon did not stop by itself"; }
wait "$pid"; rc=$?; pid=
check "the daemon stops by itself with a non-zero exit ($rc)" "[ $rc -ne 0 ]"
check "it says why" "grep -q 'weave-ipam: stopped: a store write in .* failed' $work/daemon.log"
check "requests after the failure were refused, not acknowledged ($refused refused)" "[ $refused -ge 1 ]"
rm -f "$disk/fill" "$sock"
start_daemon || bad "the daemon restarts once there is room"
allocated | tr ' ' '\n' | sort >"$work/held"
for a in $acked; do echo "${a%/*}"; done | sort >"$work/acked"
comm -23 "$work/acked" "$work/held" >"$work/lost"
head -5 "$work/lost" | sed 's/^/  lost: /'
check "every acknowledged allocation survived ($(wc -l <"$work/acked"))" "[ ! -s $work/lost ]"
r=$(request)
fresh=${r#200 }
check "a new allocation is none of them ($fresh)" \
  "[[ '$r' == 200* ]] && ! grep -qx '${fresh%/*}' $work/acked"
report
