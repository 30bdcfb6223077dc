#!/usr/bin/env bash
# A secured HBase REST gateway for development and the end-to-end test (issue 5 item 5):
# a private MIT KDC (scripts/kdc.sh), a test CA and a server certificate for localhost/127.0.0.1
# (openssl), a grants file, and hbase-rest-double with Kerberos SPNEGO, the grants and TLS on.
#
#   eval "$(scripts/dev-hbase.sh up)"      start; prints export lines (SONARLAB_HBASE_URL https, …)
#   scripts/dev-hbase.sh down [DIR]        stop what `up` started (by PID), remove the folder
#
# Everything lives in one temporary folder (SONARLAB_DEV_HBASE_DIR): keytabs (trainer, viewer,
# intruder, ghost, http, hbase), krb5.conf, the CA and its key, the server key, the grants, the double's
# data. Nothing is bound outside 127.0.0.1. BIN=… points at a build other than `swift build`'s debug one.
#   hbase:    global RWXCA, the superuser; `up` uses it (kinit + curl --negotiate) to create the namespace
#             sonarlab, as an HBase admin would (creating a namespace needs global Admin)
#   trainer:  RW on sonarlab:experiments, :datasets, :predictions; C on the namespace @sonarlab
#   viewer:   R on the namespace @sonarlab
#   intruder: nothing
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cmd=${1:-}

case "$cmd" in
up)
  for tool in openssl python3 curl kinit; do
    command -v "$tool" >/dev/null || { echo "dev-hbase.sh: $tool not found (make deps)" >&2; exit 3; }
  done
  BIN=${BIN:-$(cd "$ROOT" && swift build --show-bin-path)}
  [ -x "$BIN/hbase-rest-double" ] || (cd "$ROOT" && swift build --product hbase-rest-double >/dev/null)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sonarlab-dev-hbase.XXXXXX")
  chmod 700 "$dir"
  "$ROOT/scripts/kdc.sh" up "$dir" >"$dir/kdc.env" || { echo "dev-hbase.sh: the KDC did not start" >&2; exit 1; }

  # shellcheck disable=SC1091
  . "$dir/kdc.env"
  PATH="$PATH:/usr/sbin" kadmin.local -q "addprinc -randkey hbase" >/dev/null 2>&1
  PATH="$PATH:/usr/sbin" kadmin.local -q "ktadd -k $dir/hbase.keytab hbase" >/dev/null 2>&1
  chmod 600 "$dir/hbase.keytab"

  # Test CA and a server certificate for localhost and 127.0.0.1; private keys stay in $dir.
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/CN=SonarLab dev CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
      -extfile server.ext 2>/dev/null
    chmod 600 ca.key server.key
  )

  cat >"$dir/grants" <<'GRANTS'
# HBase shell grants (AccessController semantics): user, permissions, table or @namespace.
grant 'hbase', 'RWXCA'
grant 'trainer', 'RW', 'sonarlab:experiments'
grant 'trainer', 'RW', 'sonarlab:datasets'
grant 'trainer', 'RW', 'sonarlab:predictions'
grant 'trainer', 'C', '@sonarlab'
grant 'viewer', 'R', '@sonarlab'
GRANTS

  # Background the double holding none of the caller's pipes (as kdc.sh does for krb5kdc).
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
    done
    exec "$BIN/hbase-rest-double" --host 127.0.0.1 --port 0 --auth kerberos --keytab "$dir/http.keytab" \
      --grants "$dir/grants" --tls-cert "$dir/server.pem" --tls-key "$dir/server.key" \
      --data-dir "$dir/hbase" </dev/null >"$dir/double.out" 2>"$dir/double.err"
  ) &
  echo $! >"$dir/double.pid"
  port=
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$dir/double.out" 2>/dev/null)
    [ -n "$port" ] && break
    kill -0 "$(cat "$dir/double.pid")" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    echo "dev-hbase.sh: hbase-rest-double did not start: $(cat "$dir/double.err" 2>/dev/null)" >&2
    "$0" down "$dir"
    exit 1
  fi
  # The superuser creates the namespace (HBase: `create_namespace 'sonarlab'` as the hbase user).
  status=$(KRB5CCNAME="FILE:$dir/hbase.ccache" sh -c '
    kinit -kt "$1/hbase.keytab" hbase &&
    curl -s -o /dev/null -w "%{http_code}" --negotiate -u : --cacert "$1/ca.pem" -X POST \
      -H "Accept: application/json" -H "Content-Type: application/json" "https://localhost:$2/namespaces/sonarlab"
  ' sh "$dir" "$port" || true)
  rm -f "$dir/hbase.ccache"
  case "$status" in
    201|403) ;;   # created, or it already existed (a kept --data-dir)
    *) echo "dev-hbase.sh: creating namespace sonarlab as hbase answered '$status'" >&2; "$0" down "$dir"; exit 1 ;;
  esac
  cat <<OUT
export SONARLAB_HBASE_URL=https://localhost:$port
export SONARLAB_HBASE_AUTH=kerberos
export SONARLAB_HBASE_PRINCIPAL=trainer
export KRB5_CONFIG=$dir/krb5.conf
export KRB5_CLIENT_KTNAME=$dir/trainer.keytab
export SONARLAB_HBASE_CA_FILE=$dir/ca.pem
export SONARLAB_DEV_HBASE_DIR=$dir
OUT
  ;;
down)
  dir=${2:-${SONARLAB_DEV_HBASE_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "dev-hbase.sh: no folder (give DIR or set SONARLAB_DEV_HBASE_DIR)" >&2; exit 2; }
  if [ -f "$dir/double.pid" ]; then
    pid=$(cat "$dir/double.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  "$ROOT/scripts/kdc.sh" down "$dir" || true
  case "$dir" in
    */sonarlab-dev-hbase.*) rm -rf "$dir" ;;
  esac
  ;;
*)
  echo "usage: $0 up | down [DIR]" >&2; exit 2 ;;
esac
