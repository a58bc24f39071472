# Shared by the end-to-end scripts: pass/fail counting, and waiting for a daemon started in
# the background. Source it after setting $work, $sock and $admin.
passed=0
failed=0

ok() { echo "PASS: $1"; passed=$((passed + 1)); }
bad() { echo "FAIL: $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

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
