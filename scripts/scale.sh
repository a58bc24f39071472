#!/usr/bin/env bash
# The mesh at scale, with real processes: N `weave-ipam launch` peers on 127.0.0.1, each
# with its own gossip port, store and sockets, --ipalloc-init consensus=N, peer I given
# peers I-1 and 1 as targets. Once all run, `prime` runs on every peer at once, then
# ALLOCS plugin allocations per peer (RequestPool + RequestAddress on its plugin socket,
# the peers in parallel). Prints one line of figures:
#   launch -> all primed, frames sent per peer up to then (mean, max, mean by type) and at
#   the end, frames dropped (all peers; how many were broadcasts or unicasts),
#   CPU per peer at rest (mean over REST seconds after the allocations), RSS per peer,
#   allocations given and how many are unique.
# Exits non-zero unless every peer primed and every allocation is unique.
#   scripts/scale.sh N [ALLOCS]      (default ALLOCS 20)
# Environment: WIPAM_BIN (default build/static, else build/asan), WIPAM_SCALE_PORT (the
# first port; peer I gossips on PORT+I and serves metrics on METRICS+I, where METRICS is
# WIPAM_SCALE_METRICS_PORT, default PORT+1000; PORT defaults to 21000),
# WIPAM_SCALE_DEADLINE (seconds for all to prime after the last launch; default 120),
# WIPAM_SCALE_REST (default 10), WIPAM_SCALE_KEEP=1 keeps the work directory.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-}
allocs=${2:-20}
[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 500 ] || {
  echo "usage: $0 N [ALLOCS]  (2..500 peers)" >&2
  exit 2
}
bin=${WIPAM_BIN:-}
for b in "$repo/build/static/weave-ipam" "$repo/build/asan/weave-ipam"; do
  [ -n "$bin" ] || { [ -x "$b" ] && bin=$b; }
done
[ -x "$bin" ] || { echo "scale.sh: no weave-ipam binary (set WIPAM_BIN)" >&2; exit 2; }
base=${WIPAM_SCALE_PORT:-21000}
metrics_base=${WIPAM_SCALE_METRICS_PORT:-$((base + 1000))}
deadline=${WIPAM_SCALE_DEADLINE:-120}
rest=${WIPAM_SCALE_REST:-10}
work=$(mktemp -d /tmp/wipam-scale.XXXXXX)
pids=()

cleanup() {
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  [ "${WIPAM_SCALE_KEEP:-0}" = 1 ] && echo "scale.sh: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cli() { "$bin" --admin-socket "$work/$1/admin.sock" "${@:2}"; }
# metric I NAME [TYPES]: the sum of NAME{type=...} over TYPES (a regex; default every type).
# snapshot NAME: every peer's /metrics into $work/I/NAME.
snapshot() {
  local i
  for i in $(seq "$n"); do
    curl -sf -m 5 "http://127.0.0.1:$((metrics_base + i))/metrics" >"$work/$i/$1" || :
  done
}
plugin() { curl -sf -m 30 --unix-socket "$work/$1/plugin.sock" -d "$3" "http://x/IpamDriver.$2"; }
# utime + stime of PID, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

launch_peer() {
  local i=$1 targets=()
  mkdir -p "$work/$i"
  [ "$i" -gt 1 ] && targets+=("127.0.0.1:$((base + i - 1))")
  [ "$i" -gt 2 ] && targets+=("127.0.0.1:$((base + 1))")
  "$bin" launch --nickname "p$i" --port $((base + i)) --db-path "$work/$i/db" \
    --plugin-socket "$work/$i/plugin.sock" --admin-socket "$work/$i/admin.sock" \
    --http-addr "127.0.0.1:$((metrics_base + i))" --docker-api "" \
    --ipalloc-init "consensus=$n" "${targets[@]}" >"$work/$i/log" 2>&1 </dev/null &
  pids+=($!)
}

# prime_all: every peer's prime at once, retried until the deadline; prints the seconds.
prime_all() {
  local start=$SECONDS i p waits=()
  for i in $(seq "$n"); do
    (
      until cli "$i" prime --timeout 10 >/dev/null 2>&1; do
        [ $((SECONDS - start)) -lt "$deadline" ] || exit 1
        sleep 0.5
      done
      touch "$work/$i/primed"
    ) &
    waits+=($!)
  done
  for p in "${waits[@]}"; do wait "$p"; done
}

allocate_all() {
  local i p waits=()
  for i in $(seq "$n"); do
    (
      plugin "$i" RequestPool '{"AddressSpace":"weavelocal","Pool":"10.32.0.0/12","Options":{}}' >/dev/null
      for k in $(seq "$allocs"); do
        # sed, not python, per allocation: 200 python starts at once load the peers' cores.
        { plugin "$i" RequestAddress '{"PoolID":"weave-10.32.0.0/12","Address":"","Options":{}}'; echo; } |
          sed -n 's/.*"Address":"\([^"]*\)".*/\1/p'
      done >"$work/$i/addresses"
    ) &
    waits+=($!)
  done
  for p in "${waits[@]}"; do wait "$p"; done
}

t0=$(date +%s.%N)
for i in $(seq "$n"); do launch_peer "$i"; done
t_launched=$(date +%s.%N)
for i in $(seq "$n"); do
  for _ in $(seq 100); do [ -S "$work/$i/admin.sock" ] && break; sleep 0.1; done
done
prime_all
t_primed=$(date +%s.%N)
primed=$(ls "$work"/*/primed 2>/dev/null | wc -l)
snapshot at-formation

allocate_all
cat "$work"/*/addresses >"$work/all"
given=$(grep -c . "$work/all")
unique=$(sort -u "$work/all" | grep -c .)

# At rest: CPU over REST seconds, then each peer's frames and RSS.
declare -A before
for pid in "${pids[@]}"; do before[$pid]=$(cpu_ticks "$pid"); done
sleep "$rest"
ticks=0
for pid in "${pids[@]}"; do ticks=$((ticks + $(cpu_ticks "$pid") - ${before[$pid]})); done
snapshot at-end
rss_kb=0 alive=0
for pid in "${pids[@]}"; do
  rss_kb=$((rss_kb + $(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
  [ -d "/proc/$pid" ] && alive=$((alive + 1))
done
python3 "$repo/scripts/scale_figures.py" "$work" "$n" "$t0" "$t_launched" "$t_primed" "$primed" \
  "$ticks" "$(getconf CLK_TCK)" "$rest" "$rss_kb" "$given" "$unique" "$alive" >"$work/figures"
grep '^scale' "$work/figures"
missing=$(sed -n 's/^missing=//p' "$work/figures")
ok=1
[ "$primed" = "$n" ] || { echo "scale.sh: only $primed of $n peers primed" >&2; ok=0; }
[ "$given" = $((n * allocs)) ] || { echo "scale.sh: $given of $((n * allocs)) allocations answered" >&2; ok=0; }
[ "$unique" = "$given" ] || { echo "scale.sh: $((given - unique)) duplicate addresses" >&2; ok=0; }
[ "${missing:-1}" = 0 ] || { echo "scale.sh: $missing peers report no frames sent" >&2; ok=0; }
[ "$alive" = "$n" ] || { echo "scale.sh: $((n - alive)) peers died" >&2; ok=0; }
if [ "$ok" = 0 ]; then
  for i in 1 "$n"; do echo "--- peer $i log (last 10) ---" >&2; tail -10 "$work/$i/log" >&2; done
  exit 1
fi
