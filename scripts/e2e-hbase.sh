#!/usr/bin/env bash
# HBase end-to-end (issue 4 item 7): start hbase-rest-double on 127.0.0.1 (a free port), then
# `hbase init`, `dataset load` (twice), `train --backend hbase`, `predict --store hbase --from-hbase`,
# `history --backend hbase`, and check the rows with raw HTTP (curl), not through SonarLab's client.
#   scripts/e2e-hbase.sh            (uses the debug build; BIN=… to point elsewhere)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN=${BIN:-$(swift build --show-bin-path)}
[ -x "$BIN/sonarlab" ] && [ -x "$BIN/hbase-rest-double" ] || swift build >/dev/null
WORK=$(mktemp -d)
OUT="$WORK/double.out"
"$BIN/hbase-rest-double" --host 127.0.0.1 --port 0 --auth none --data-dir "$WORK/hbase" >"$OUT" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do grep -q '^listening ' "$OUT" && break; sleep 0.1; done
PORT=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$OUT")
[ -n "$PORT" ] || { echo "e2e: the double did not start" >&2; exit 1; }
export SONARLAB_HBASE_URL="http://127.0.0.1:$PORT"
URL=$SONARLAB_HBASE_URL
mkdir -p "$WORK/run" && cp -r data "$WORK/run/" && cd "$WORK/run"
fail() { echo "e2e FAILED: $*" >&2; exit 1; }

"$BIN/sonarlab" hbase init
"$BIN/sonarlab" hbase init | grep -q "already initialised" || fail "second init was not a no-op"
"$BIN/sonarlab" hbase status
"$BIN/sonarlab" dataset load
"$BIN/sonarlab" dataset load
"$BIN/sonarlab" dataset show
"$BIN/sonarlab" train --backend hbase --epochs 30 --headless >/dev/null
"$BIN/sonarlab" predict --backend hbase --from-hbase --store hbase >/dev/null
"$BIN/sonarlab" history --backend hbase

J='Accept: application/json'
count_rows() { python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("Row", [])))'; }
DATASETS=$(curl -sf -H "$J" "$URL/sonarlab%3Adatasets/*?column=d%3Alabel" | count_rows)
[ "$DATASETS" = 208 ] || fail "expected 208 dataset rows, found $DATASETS"
EXPERIMENTS=$(curl -sf -H "$J" "$URL/sonarlab%3Aexperiments/*?column=s%3Astatus" | count_rows)
[ "$EXPERIMENTS" = 1 ] || fail "expected 1 experiment, found $EXPERIMENTS"
STATUS=$(curl -sf -H "$J" "$URL/sonarlab%3Aexperiments/*?column=s%3Astatus" | python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(sys.stdin)["Row"][0]["Cell"][0]["$"]).decode())')
[ "$STATUS" = finished ] || fail "experiment status is $STATUS"
PREDICTIONS=$(curl -sf -H "$J" "$URL/sonarlab%3Apredictions/*?column=p%3Alabel" | count_rows)
[ "$PREDICTIONS" = 52 ] || fail "expected 52 predictions, found $PREDICTIONS"
echo "e2e ok: 208 dataset rows, 1 finished experiment, 52 predictions (raw HTTP on $URL)"
