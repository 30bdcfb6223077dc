#!/usr/bin/env bash
# A private MIT Kerberos KDC on 127.0.0.1 for tests and development (Debian krb5-kdc, krb5-admin-server).
#
#   scripts/kdc.sh up DIR     create realm SONARLAB.TEST in DIR, principals and keytabs, start krb5kdc
#   scripts/kdc.sh down DIR   stop the KDC started in DIR (by its PID file)
#
# `up` binds 127.0.0.1 only, on a free port, and prints eval-able export lines (KRB5_CONFIG,
# KRB5_KDC_PROFILE, SONARLAB_KDC_PORT, SONARLAB_KDC_DIR). Principals and keytabs in DIR:
#   HTTP/localhost  -> http.keytab     (the REST gateway's service key)
#   trainer         -> trainer.keytab
#   viewer          -> viewer.keytab
#   intruder        -> intruder.keytab
#   ghost           -> ghost.keytab    (the principal is deleted again: a keytab the KDC no longer knows)
# Nothing here is a secret worth keeping: the database master key is random and lives in DIR.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 up|down DIR" >&2; exit 2; }
realm=${SONARLAB_KDC_REALM:-SONARLAB.TEST}

case "$cmd" in
up)
  for tool in krb5kdc kdb5_util kadmin.local; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
      echo "kdc.sh: $tool not found; install krb5-kdc krb5-admin-server (make deps does)" >&2; exit 3; }
  done
  export PATH="$PATH:/usr/sbin"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$dir/krb5.conf" <<CONF
[libdefaults]
    default_realm = $realm
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    ignore_acceptor_hostname = false
[realms]
    $realm = {
        kdc = 127.0.0.1:$port
    }
[domain_realm]
    localhost = $realm
    .localhost = $realm
CONF
  cat >"$dir/kdc.conf" <<CONF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$port
    kdc_tcp_listen = 127.0.0.1:$port
[realms]
    $realm = {
        database_name = $dir/principal
        key_stash_file = $dir/stash
        acl_file = $dir/kadm5.acl
        max_life = 10h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:$dir/kdc.log
CONF
  : >"$dir/kadm5.acl"
  export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf"
  kdb5_util create -s -r "$realm" -P "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >/dev/null 2>&1
  for p in HTTP/localhost trainer viewer intruder ghost; do
    kadmin.local -q "addprinc -randkey $p" >/dev/null 2>&1
  done
  kadmin.local -q "ktadd -k $dir/http.keytab HTTP/localhost" >/dev/null 2>&1
  for p in trainer viewer intruder ghost; do
    kadmin.local -q "ktadd -k $dir/$p.keytab $p" >/dev/null 2>&1
  done
  kadmin.local -q "delprinc -force ghost" >/dev/null 2>&1
  chmod 600 "$dir"/*.keytab
  # The daemon must hold none of the caller's pipes (stdio or inherited descriptors): a caller reading a
  # pipe to its end would otherwise wait for as long as the KDC runs.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
    done
    # …nor the caller's blocked signals: a test process (Dispatch, NIO) blocks SIGTERM in its threads, the mask
    # survives exec, and a KDC started from it could then not be stopped by `down`. Unblock them all.
    exec python3 -c 'import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execvp(sys.argv[1], sys.argv[1:])' \
      krb5kdc -P "$dir/kdc.pid" </dev/null >/dev/null 2>&1
  )
  for _ in $(seq 1 100); do
    python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1', $port)))" && break
    sleep 0.05
  done
  cat <<OUT
export KRB5_CONFIG=$dir/krb5.conf
export KRB5_KDC_PROFILE=$dir/kdc.conf
export SONARLAB_KDC_PORT=$port
export SONARLAB_KDC_DIR=$dir
OUT
  ;;
down)
  if [ -f "$dir/kdc.pid" ]; then
    pid=$(cat "$dir/kdc.pid")
    kill "$pid" 2>/dev/null || true
    # SIGKILL if SIGTERM was not acted on within 2 s (e.g. a KDC started with SIGTERM blocked).
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/kdc.pid"
  fi
  ;;
*)
  echo "usage: $0 up|down DIR" >&2; exit 2 ;;
esac
