#!/usr/bin/env bash
# The one test command (`npm test`). Installs what is missing, starts the shared cluster once
# (3 real engines), runs every *.test.ts one file at a time, and stops exactly what it started.
#
#   bash test/run-all.sh            all tests (unit + integration) against the shared cluster
#   bash test/run-all.sh --unit     only tests outside test/integration/, no cluster
#   bash test/run-all.sh [--unit] FILE...   only the given test files
#
# Exit code = the test runner's. TAP output: `# pass N` / `# fail N` at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

unit=0
files=()
for arg in "$@"; do
  case "$arg" in
    --unit) unit=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) files+=("$arg") ;;
  esac
done

bash test/setup.sh

if [ "${#files[@]}" -eq 0 ]; then
  while IFS= read -r f; do files+=("$f"); done < <(
    find core plugins config bench test -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
  if [ "$unit" = 1 ]; then
    kept=()
    for f in "${files[@]}"; do case "$f" in test/integration/*) ;; *) kept+=("$f") ;; esac; done
    files=("${kept[@]+"${kept[@]}"}")
  fi
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "run-all: no test files found" >&2
  exit 1
fi

shared_pid=""
state=""
stop_cluster() {
  if [ -n "$shared_pid" ] && kill -0 "$shared_pid" 2>/dev/null; then
    echo "run-all: stopping shared cluster (pid $shared_pid)"
    kill -TERM "$shared_pid" 2>/dev/null || true
    # shared.ts stops its engines (SIGTERM to each dockerd, SIGKILL after 20 s) then exits.
    for _ in $(seq 1 300); do kill -0 "$shared_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$shared_pid" 2>/dev/null || true
  fi
  shared_pid=""
  [ -n "$state" ] && rm -f "$state"
  return 0
}
trap stop_cluster EXIT
trap 'stop_cluster; exit 130' INT
trap 'stop_cluster; exit 143' TERM

if [ "$unit" = 0 ]; then
  state="$(mktemp /tmp/swarm-test-shared.XXXXXX)"
  rm -f "$state"
  echo "run-all: starting shared cluster"
  node --import tsx test/cluster/shared.ts --state "$state" >/dev/null &
  shared_pid=$!
  for _ in $(seq 1 1200); do
    [ -s "$state" ] && break
    kill -0 "$shared_pid" 2>/dev/null || { echo "run-all: shared cluster failed to start" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$state" ] || { echo "run-all: shared cluster did not come up in 120 s" >&2; exit 1; }
  SWARM_TEST_ENGINES="$(cat "$state")"
  export SWARM_TEST_ENGINES
  echo "run-all: shared engines $SWARM_TEST_ENGINES"
else
  unset SWARM_TEST_ENGINES
fi

echo "run-all: ${#files[@]} test files"
set +e
# --test-force-exit: a file whose tests are done but left a handle open must not stall the run.
# TAP goes to stdout; a spec report goes to a file so that the failures, with their assertion
# diffs, are repeated at the very end, where a CI log that keeps only its tail still shows them.
spec="$(mktemp /tmp/swarm-test-spec.XXXXXX)"
node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-force-exit \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=spec --test-reporter-destination="$spec" "${files[@]}"
code=$?
set -e
if grep -q 'failing tests:' "$spec"; then
  echo "run-all: failures (spec report)"
  sed -n '/failing tests:/,$p' "$spec" | grep -v '^ *at ' | head -c 20000
fi
rm -f "$spec"
echo "run-all: test runner exit code $code"
exit "$code"
