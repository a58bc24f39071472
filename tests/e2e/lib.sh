# Shared by the end-to-end scripts: pass/fail counting, and waiting for a daemon started in
# the background. Source it after setting $work, $sock and $admin.
passed=0
failed=0

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

# reserve_ports: sets $port_base to the first of 100 TCP ports (port_base..port_base+99)
# that no other end-to-end script holds and nothing listens on. ctest runs scripts side by
# side, so ports derived from $$ collided. Blocks lie below the kernel's ephemeral range
# (32768 and up), so no outgoing connection takes one. A block is held by a directory that
# names this script's PID; it is free again once that process has gone.
reserve_ports() {
  local dir=/tmp/weave-ipam-e2e-ports block owner
  mkdir -p "$dir" && chmod 1777 "$dir" 2>/dev/null
  for _ in $(seq 500); do
    block=$((100 + RANDOM % 220)) # ports 10000..31999
    if mkdir "$dir/$block" 2>/dev/null; then
      echo $$ >"$dir/$block/pid"
      # A block something else listens on stays held by us until we exit: try another.
      ports_free $((block * 100)) 100 && { port_base=$((block * 100)); return 0; }
      continue
    fi
    owner=$(cat "$dir/$block/pid" 2>/dev/null)
    # A holder that has gone: take its block back (rename first, so only one of us does).
    if [ -n "$owner" ] && [ ! -d "/proc/$owner" ] && mv "$dir/$block" "$dir/gone.$$.$block" 2>/dev/null; then
      rm -rf "$dir/gone.$$.$block"
    fi
  done
  echo "reserve_ports: no free block of ports under $dir" >&2
  return 1
}

# ports_free FIRST COUNT: succeeds if every TCP port FIRST..FIRST+COUNT-1 can be bound.
ports_free() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
first, count = int(sys.argv[1]), int(sys.argv[2])
for port in range(first, first + count):
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            sys.exit(1)
PY
}

# Succeeds once the plugin and admin sockets exist (10 s at most); else shows the log.
wait_for_daemon() {
  for _ in $(seq 100); do
    [ -S "$sock" ] && [ -S "$admin" ] && return 0
    sleep 0.1
  done
  echo "daemon did not start:"; tail -20 "$work/daemon.log"; return 1
}

# The closing lines: the daemon's log on failure, then "N passed, M failed"; the exit status.
report() {
  [ "$failed" -eq 0 ] || { echo "--- daemon log (last 60 lines) ---"; tail -60 "$work/daemon.log"; }
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
