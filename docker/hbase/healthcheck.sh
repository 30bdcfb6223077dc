#!/usr/bin/env bash
# Healthy when the grants were applied and the REST gateway answers over TLS (verified against the test CA,
# hostname "hbase") with the Kerberos challenge: 401 and `WWW-Authenticate: Negotiate`.
set -euo pipefail
[ -f /var/lib/hbase/ready ] || exit 1
headers="$(curl -sS -o /dev/null -D - --max-time 8 --cacert /tls/ca.pem \
  --resolve hbase:8080:127.0.0.1 https://hbase:8080/version/cluster)"
printf '%s' "$headers" | head -n 1 | grep -q ' 401' || exit 1
printf '%s' "$headers" | grep -qi '^WWW-Authenticate: Negotiate' || exit 1
