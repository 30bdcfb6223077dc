#!/usr/bin/env bash
# HBase end-to-end (issue 4 item 7, issue 5 item 5): start a secured gateway with scripts/dev-hbase.sh
# (private KDC, hbase-rest-double with Kerberos SPNEGO, grants and TLS on 127.0.0.1), then as trainer
# `hbase init` (twice), `dataset load` (twice), `train --backend hbase`, `predict --store hbase --from-hbase`,
# `history --backend hbase`; check the rows with raw HTTP (`curl --negotiate` with a trainer ticket from
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
[ "$PREDICTIONS" = 52 ] || fail "expected 52 predictions, found $PREDICTIONS"
echo "e2e ok: 208 dataset rows, 1 finished experiment, 52 predictions (curl --negotiate over TLS on $URL; viewer 403, anonymous 401)"
