#!/usr/bin/env bash
# HBase bench (issue 4 item 8): 10,000 prediction rows written in batches of 500 and scanned back, against
# hbase-rest-double on 127.0.0.1 (a free port), by the Swift HBase module and by a Python `requests`
# reference client (same double, same batching). Prints both timings and the Python/Swift ratio.
#
#   scripts/bench-hbase.sh [ROWS] [BATCH]        (CONFIGURATION=debug|release, default release)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-10000}
BATCH=${2:-500}
CONFIGURATION=${CONFIGURATION:-release}
swift build -c "$CONFIGURATION" --product hbase-rest-double >/dev/null
swift build -c "$CONFIGURATION" --product hbase-bench >/dev/null
BIN=$(swift build -c "$CONFIGURATION" --show-bin-path)
OUT=$(mktemp)
"$BIN/hbase-rest-double" --host 127.0.0.1 --port 0 --auth none >"$OUT" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 1 100); do grep -q '^listening ' "$OUT" && break; sleep 0.1; done
PORT=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$OUT")
[ -n "$PORT" ] || { echo "bench: the double did not start" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
SWIFT=$("$BIN/hbase-bench" --url "$URL" --table bench_swift --rows "$ROWS" --batch "$BATCH")
PY=$(python3 scripts/bench_hbase_reference.py "$URL" bench_python "$ROWS" "$BATCH")
echo "$SWIFT"
echo "$PY"
python3 - "$SWIFT" "$PY" <<'PYEOF'
import json, sys
s, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
st, pt = s["write_s"] + s["scan_s"], p["write_s"] + p["scan_s"]
print(f"total: swift {st:.3f}s, python {pt:.3f}s, python/swift = {pt / st:.2f}")
PYEOF
