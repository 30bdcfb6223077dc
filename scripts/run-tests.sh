#!/usr/bin/env bash
# Runs `swift test ARGS` with a deadline, so that a hung test fails the run in minutes instead of using up
# CI's 90: after TEST_TIMEOUT_SECONDS (1200; a whole run takes about 3 minutes) it prints the tests that
# started and never ended and the processes still running under it, then stops them all and exits 124.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
deadline=${TEST_TIMEOUT_SECONDS:-1200}
log=$(mktemp "${TMPDIR:-/tmp}/sonarlab-test-log.XXXXXX")
trap 'rm -f "$log"' EXIT

${SWIFT:-swift} test "$@" > >(tee "$log") 2>&1 &
runner=$!
start=$SECONDS
while kill -0 "$runner" 2>/dev/null; do
    if (( SECONDS - start >= deadline )); then
        echo "run-tests: swift test still running after ${deadline} s; tests that started and did not end:" >&2
        python3 - "$log" >&2 <<'PY'
import re, sys
started, ended = {}, set()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    m = re.search(r'Test (.+?) (started|passed|failed|skipped)', line)
    if not m or "Test run with" in line or "Test case passing" in line:
        continue
    name = re.sub(r' with \d+ test cases?$', '', m.group(1))
    if m.group(2) == "started":
        started.setdefault(name, line.strip())
    else:
        ended.add(name)
for name in started:
    if name not in ended:
        print("  " + name)
PY
        # The test processes start their children in process groups of their own: walk the tree instead.
        tree=$(ps -e -o pid=,ppid= | python3 -c '
import sys
root, children = sys.argv[1], {}
for line in sys.stdin:
    pid, ppid = line.split()
    children.setdefault(ppid, []).append(pid)
todo, seen = [root], []
while todo:
    pid = todo.pop()
    seen.append(pid)
    todo += children.get(pid, [])
print(" ".join(seen))' "$runner")
        echo "run-tests: processes under it:" >&2
        # shellcheck disable=SC2086
        ps -o pid,ppid,etime,args -p "${tree// /,}" >&2 || true
        # shellcheck disable=SC2086
        kill -TERM $tree 2>/dev/null
        sleep 10
        # shellcheck disable=SC2086
        kill -KILL $tree 2>/dev/null
        wait "$runner" 2>/dev/null
        exit 124
    fi
    sleep 2
done
wait "$runner"
