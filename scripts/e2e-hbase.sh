#!/usr/bin/env bash
# HBase end-to-end (issue 4 item 7, issue 5 item 5): start a secured gateway with scripts/dev-hbase.sh
# (private KDC, hbase-rest-double with Kerberos SPNEGO, grants and TLS on 127.0.0.1), then as trainer
# `hbase init` (twice), `dataset load` (twice), `train --backend hbase`, `predict --store hbase --from-hbase`,
# `history --backend hbase`, then `sonarlab serve` (record = hbase) answering V2 and /invocations requests with
# the same labels and P(mine) as `predict --json`; check the rows with raw HTTP (`curl --negotiate` with a trainer ticket from
# `kinit -kt`), not through SonarLab's client; and check that viewer gets 403 on a write and that no
# credentials get 401.
#   scripts/e2e-hbase.sh            (uses the debug build; BIN=… to point elsewhere)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
BIN=${BIN:-$(swift build --show-bin-path)}
[ -x "$BIN/sonarlab" ] && [ -x "$BIN/hbase-rest-double" ] || swift build >/dev/null
export BIN
WORK=$(mktemp -d)
ENV_FILE="$WORK/dev-hbase.env"
"$ROOT/scripts/dev-hbase.sh" up >"$ENV_FILE"
# shellcheck disable=SC1090
. "$ENV_FILE"
trap '"$ROOT/scripts/dev-hbase.sh" down "$SONARLAB_DEV_HBASE_DIR" || true; rm -rf "$WORK"' EXIT
URL=$SONARLAB_HBASE_URL
export KRB5CCNAME="FILE:$WORK/curl.ccache"
kinit -kt "$SONARLAB_DEV_HBASE_DIR/trainer.keytab" trainer
CURL=(curl -sf --negotiate -u : --cacert "$SONARLAB_HBASE_CA_FILE")
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

# The model service over TLS, its callers authenticated with SPNEGO (service keytab HTTP/localhost, only trainer
# allowed to infer); every answer recorded in sonarlab:predictions through the outbox with trainer's Kerberos
# credentials toward HBase, the caller's principal in p:caller; SIGTERM flushes the outbox before it exits 0.
head -5 data/sonar.all-data >"$WORK/rows.csv"
"$BIN/sonarlab" predict --backend hbase --input "$WORK/rows.csv" --json >"$WORK/predict.json"
SERVE_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SERVE=https://localhost:$SERVE_PORT
D=$SONARLAB_DEV_HBASE_DIR
SONARLAB_SERVE_RECORD=hbase SONARLAB_SERVE_AUTH=kerberos KRB5_KTNAME="$D/http.keytab" \
  SONARLAB_SERVE_ALLOW_INFER=trainer@SONARLAB.TEST SONARLAB_SERVE_TLS_CERT_FILE="$D/server.pem" \
  SONARLAB_SERVE_TLS_KEY_FILE="$D/server.key" \
  "$BIN/sonarlab" serve --backend hbase --host 127.0.0.1 --port "$SERVE_PORT" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 240); do
  curl -sf -o /dev/null --cacert "$SONARLAB_HBASE_CA_FILE" "$SERVE/v2/health/ready" && break
  kill -0 "$SERVE_PID" 2>/dev/null || fail "serve exited before it was ready: $(cat "$WORK/serve.log")"
  sleep 0.25
done
python3 - "$WORK/rows.csv" "$WORK" <<'PY'
import json, sys
rows = [[float(x) for x in line.split(",")[:60]] for line in open(sys.argv[1])]
flat = [x for row in rows for x in row]
json.dump({"id": "e2e-v2", "inputs": [{"name": "features", "shape": [len(rows), 60], "datatype": "FP32", "data": flat}]},
          open(sys.argv[2] + "/v2.json", "w"))
json.dump({"dataframe_split": {"data": rows}}, open(sys.argv[2] + "/invocations.json", "w"))
PY
JSON_BODY=(-H 'Content-Type: application/json')
CODE=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SONARLAB_HBASE_CA_FILE" "${JSON_BODY[@]}" \
  -d @"$WORK/v2.json" "$SERVE/v2/models/sonar/infer")
[ "$CODE" = 401 ] || fail "an infer request without credentials got $CODE, not 401"
CODE=$(KRB5CCNAME="FILE:$WORK/viewer.ccache" bash -c 'kinit -kt "$1" viewer && curl -s -o /dev/null -w "%{http_code}" \
  --negotiate -u : --cacert "$2" -H "Content-Type: application/json" -d @"$3" "$4"' _ "$D/viewer.keytab" \
  "$SONARLAB_HBASE_CA_FILE" "$WORK/v2.json" "$SERVE/v2/models/sonar/infer")
[ "$CODE" = 403 ] || fail "viewer (not on allow_infer) got $CODE, not 403"
"${CURL[@]}" "${JSON_BODY[@]}" -d @"$WORK/v2.json" "$SERVE/v2/models/sonar/infer" >"$WORK/v2.out" \
  || fail "V2 infer as trainer failed"
"${CURL[@]}" "${JSON_BODY[@]}" -d @"$WORK/invocations.json" "$SERVE/invocations" >"$WORK/invocations.out" \
  || fail "/invocations as trainer failed"
python3 - "$WORK" <<'PY' || fail "serve's answers differ from predict --json"
import json, sys
w = sys.argv[1]
expected = [(p["label"], p["p_mine"]) for p in json.load(open(w + "/predict.json"))["predictions"]]
outputs = {o["name"]: o["data"] for o in json.load(open(w + "/v2.out"))["outputs"]}
v2 = list(zip(outputs["label"], outputs["p_mine"]))
mlflow = [(p["label"], p["p_mine"]) for p in json.load(open(w + "/invocations.out"))["predictions"]]
for name, got in (("V2", v2), ("/invocations", mlflow)):
    assert [l for l, _ in got] == [l for l, _ in expected], (name, got, expected)
    assert all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(got, expected)), (name, got, expected)
PY
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || fail "serve did not exit 0 after SIGTERM: $(tail -5 "$WORK/serve.log")"
"$BIN/sonarlab" sync --strict >/dev/null || fail "writes were left in the outbox after serve stopped"

J='Accept: application/json'
# Viewer may read but not write; without credentials the gateway answers 401.
(KRB5_CLIENT_KTNAME="$SONARLAB_DEV_HBASE_DIR/viewer.keytab" SONARLAB_HBASE_PRINCIPAL=viewer \
  "$BIN/sonarlab" dataset load >"$WORK/viewer.out" 2>&1) && fail "viewer could write"
grep -q "HTTP 403" "$WORK/viewer.out" || fail "viewer's write did not fail with 403: $(cat "$WORK/viewer.out")"
(SONARLAB_HBASE_AUTH=none "$BIN/sonarlab" hbase status >"$WORK/anonymous.out" 2>&1) && fail "anonymous access worked"
grep -q "HTTP 401" "$WORK/anonymous.out" || fail "anonymous access did not fail with 401: $(cat "$WORK/anonymous.out")"
NOAUTH=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SONARLAB_HBASE_CA_FILE" -H "$J" "$URL/version/cluster")
[ "$NOAUTH" = 401 ] || fail "curl without credentials got $NOAUTH, not 401"
count_rows() { python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("Row", [])))'; }
DATASETS=$("${CURL[@]}" -H "$J" "$URL/sonarlab%3Adatasets/*?column=d%3Alabel" | count_rows)
[ "$DATASETS" = 208 ] || fail "expected 208 dataset rows, found $DATASETS"
EXPERIMENTS=$("${CURL[@]}" -H "$J" "$URL/sonarlab%3Aexperiments/*?column=s%3Astatus" | count_rows)
[ "$EXPERIMENTS" = 1 ] || fail "expected 1 experiment, found $EXPERIMENTS"
STATUS=$("${CURL[@]}" -H "$J" "$URL/sonarlab%3Aexperiments/*?column=s%3Astatus" | python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(sys.stdin)["Row"][0]["Cell"][0]["$"]).decode())')
[ "$STATUS" = finished ] || fail "experiment status is $STATUS"
PREDICTIONS=$("${CURL[@]}" -H "$J" "$URL/sonarlab%3Apredictions/*?column=p%3Alabel" | count_rows)
# 52 from `predict --from-hbase --store hbase`, 5 + 5 answered by the service, those with the caller's principal.
CALLERS=$("${CURL[@]}" -H "$J" "$URL/sonarlab%3Apredictions/*?column=p%3Acaller" | python3 -c '
import base64, json, sys
print(",".join(sorted({base64.b64decode(c["$"]).decode() for r in json.load(sys.stdin).get("Row", []) for c in r["Cell"]})))')
[ "$CALLERS" = "trainer@SONARLAB.TEST" ] || fail "p:caller of the served rows: $CALLERS"
SERVED=$("${CURL[@]}" -H "$J" "$URL/sonarlab%3Apredictions/*?column=p%3Acaller" | count_rows)
[ "$SERVED" = 10 ] || fail "expected 10 served rows with p:caller, found $SERVED"
[ "$PREDICTIONS" = 62 ] || fail "expected 62 predictions (52 + 10 served), found $PREDICTIONS"
echo "e2e ok: 208 dataset rows, 1 finished experiment, 62 predictions (52 batch; 10 served over TLS to trainer by SPNEGO, equal to predict --json, p:caller trainer; viewer 403 and anonymous 401 at the service and at $URL, checked with curl --negotiate)"
