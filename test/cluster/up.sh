#!/usr/bin/env bash
# Quick start (`npm run cluster`): 3 real engines (node-1..3 on 127.0.0.11-13 when free) and
# `swarm manage -H tcp://127.0.0.1:2375 nodes://<engines>` in the foreground. Ctrl-C stops all.
#
#   bash test/cluster/up.sh [-H tcp://127.0.0.1:2375] [--count N] [-- extra manage args]
set -euo pipefail
cd "$(dirname "$0")/../.."

manager_host="tcp://127.0.0.1:2375"
count=3
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    -H|--host) manager_host="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

bash test/setup.sh

state="$(mktemp /tmp/swarm-up.XXXXXX)"
rm -f "$state"
shared_pid=""
manager_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$manager_pid" ] && kill -0 "$manager_pid" 2>/dev/null; then
    kill -TERM "$manager_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$manager_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$manager_pid" 2>/dev/null || true
  fi
  if [ -n "$shared_pid" ] && kill -0 "$shared_pid" 2>/dev/null; then
    echo "up: stopping engines"
    kill -TERM "$shared_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$shared_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$shared_pid" 2>/dev/null || true
  fi
  rm -f "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "up: starting $count engines"
node --import tsx test/cluster/shared.ts --count "$count" --state "$state" >/dev/null &
shared_pid=$!
for _ in $(seq 1 1200); do
  [ -s "$state" ] && break
  kill -0 "$shared_pid" 2>/dev/null || { echo "up: engines failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -s "$state" ] || { echo "up: engines did not come up in 120 s" >&2; exit 1; }

addrs="$(node -e 'const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(e.map((x) => x.addr).join(","))' "$state")"
node -e 'for (const e of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) console.log(`up: ${e.name}  ${e.host}  ${Object.entries(e.labels).map(([k, v]) => k + "=" + v).join(" ")}`)' "$state"

echo "up: swarm manage -H $manager_host nodes://$addrs ${extra[*]+"${extra[*]}"}"
core/cli/bin.js manage -H "$manager_host" ${extra[@]+"${extra[@]}"} "nodes://$addrs" &
manager_pid=$!

# Announce the manager once its API answers (any HTTP answer from /_ping means it listens).
ping_url="http://${manager_host#tcp://}/_ping"
ping_url="${ping_url/http:\/\/:/http://127.0.0.1:}"
for _ in $(seq 1 300); do
  kill -0 "$manager_pid" 2>/dev/null || break
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' "$ping_url"; then
    echo
    echo "  export DOCKER_HOST=$manager_host"
    echo
    echo "up: manager ready; Ctrl-C stops the manager and the engines"
    break
  fi
  sleep 0.2
done

set +e
wait "$manager_pid"
code=$?
set -e
manager_pid=""
echo "up: manager exited with code $code"
exit "$code"
