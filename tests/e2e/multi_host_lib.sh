# Shared by the multi-host end-to-end scripts (scripts/hosts.sh hosts). Source it from a
# script whose $1 is the weave-ipam binary (and $2 optionally "managed"), after setting $prefix (namespace names) and
# $range (the allocation range). It sets $here, $work, $hosts and $image, sources lib.sh,
# and removes everything at exit.
bin=$(readlink -f "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d /tmp/wipam-mh.XXXXXX)
hosts=$here/scripts/hosts.sh
image=wipam-test/busybox:latest
export WIPAM_BIN=$bin WIPAM_HOSTS_DIR=$work/hosts WIPAM_HOSTS_PREFIX=$prefix
export WIPAM_HOSTS_RANGE=$range
# With "managed" as $2, every host runs the managed plugin built from $1 (a static binary).
driver=weave
if [ "${2:-}" = managed ]; then
  export WIPAM_HOSTS_PLUGIN=managed WIPAM_STATIC_BINARY=$bin
  driver=weave-ipam:latest
fi

. "$here/tests/e2e/lib.sh"

dk() { local i=$1; shift; docker -H "unix://$work/hosts/h$i/docker.sock" "$@"; }
cli() { local i=$1; shift; "$bin" --admin-socket "$work/hosts/h$i/admin.sock" "$@"; }
ip_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"; }
mac_of() { dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").MacAddress}}" "$2"; }
# Every address host I's peer holds, one per line.
held() { cli "$1" --json ps | python3 -c 'import json,sys; [print(a.split("/")[0]) for l in json.load(sys.stdin).values() for a in l]'; }
# True iff every line of FILE is an address inside CIDR and no line repeats.
unique_in() {
  python3 -c 'import ipaddress,sys
n=ipaddress.ip_network(sys.argv[2]); a=[l.strip() for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if a and len(set(a))==len(a) and all(ipaddress.ip_address(x) in n for x in a) else 1)' "$1" "$2"
}
# True iff from host I's namespace, host J's status page answers.
reaches() { nsenter --net="/var/run/netns/$prefix-h$1" curl -sf -m 5 "http://10.200.0.$2:6784/status" | grep -F "\"nickname\":\"host$2\"" >/dev/null; }
no_repeats() { [ -z "$(sort "$1" | uniq -d)" ]; }
# until_true SECONDS COMMAND: polls COMMAND every 0.5 s.
until_true() {
  local n=$(($1 * 2))
  shift
  for _ in $(seq "$n"); do eval "$1" && return 0; sleep 0.5; done
  eval "$1"
}

# run_on NET COUNT TAG HOST...: COUNT containers NET-TAG-I-K on each HOST I, all at once.
run_on() {
  local net=$1 count=$2 tag=$3 i k pids=() p
  shift 3
  for i in "$@"; do
    for k in $(seq "$count"); do
      dk "$i" run -d --name "$net-$tag-$i-$k" --net "$net" $image sleep 600 >/dev/null 2>>"$work/run.err" &
      pids+=($!)
    done
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

# The address of every running container on NET, on every host given, one per line.
running_addresses() {
  local net=$1 i c
  shift
  for i in "$@"; do
    for c in $(dk "$i" ps -q --filter "network=$net"); do ip_of "$i" "$c" "$net"; done
  done
}

# The hosts' logs go to daemon.log (report tails it on failure) before `down` removes them.
save_logs() {
  [ -d "$work/hosts" ] || return 0
  for i in $(sed -n 's/^host //p' "$work/hosts/created" 2>/dev/null); do
    for log in weave dockerd; do
      [ -f "$work/hosts/h$i/$log.log" ] || continue
      { echo "--- host $i $log.log ---"; tail -25 "$work/hosts/h$i/$log.log"; } >>"$work/daemon.log"
    done
  done
}
cleanup() {
  [ -d "$work/hosts" ] && "$hosts" down >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# up_hosts N: N hosts, or a failure reported and the script ended.
up_hosts() {
  local start=$SECONDS
  "$here/scripts/setup.sh" docker || { echo "0 passed, 1 failed"; exit 1; }
  if ! "$hosts" up "$1" >"$work/up.log" 2>&1; then
    bad "hosts.sh up $1"
    cat "$work/up.log"
    report
    exit 1
  fi
  ok "hosts.sh up $1 ($((SECONDS - start)) s)"
}
