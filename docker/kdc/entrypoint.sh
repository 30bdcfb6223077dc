#!/bin/sh
# First start: creates realm SONARLAB.TEST, the principals and their keytabs (named volume /keytabs).
# Later starts reuse the database volume. Then runs krb5kdc in the foreground.
#   HTTP/hbase   SPNEGO service of the HBase REST gateway       -> /keytabs/http-hbase.keytab (hbase only)
#   hbase/hbase  HBase master/region server and REST login user -> /keytabs/hbase.keytab      (hbase only)
#   HTTP/serve   SPNEGO service of `sonarlab serve`              -> /keytabs/http-serve.keytab (serve)
#   trainer      SonarLab writer (grants RW + C)                -> /keytabs/trainer.keytab    (sonarlab)
#   viewer       read only (grant R)                            -> /keytabs/viewer.keytab     (sonarlab)
#   intruder     no grant at all                                -> /keytabs/intruder.keytab   (sonarlab)
#   contract     the HBase contract suite (global grant)        -> /keytabs/contract.keytab   (CD only)
set -eu

realm="${KRB5_REALM:-SONARLAB.TEST}"
keytabs=/keytabs
db_dir=/var/lib/krb5kdc
master_password_file="${KDC_MASTER_PASSWORD_FILE:-/run/secrets/kdc_master_password}"
hbase_uid="${HBASE_UID:-10002}"
sonarlab_uid="${SONARLAB_UID:-10001}"

if [ ! -f "$db_dir/.initialised" ]; then
  [ -s "$master_password_file" ] || { echo "kdc: missing master password file $master_password_file" >&2; exit 2; }
  echo "kdc: creating realm $realm" >&2
  # -P reads no terminal; the value comes from the compose secret, never from the image or the command line of compose.
  kdb5_util create -s -r "$realm" -P "$(cat "$master_password_file")" >/dev/null
  : > /etc/krb5kdc/kadm5.acl
  for principal in HTTP/hbase HTTP/serve hbase/hbase trainer viewer intruder contract; do
    kadmin.local -q "addprinc -randkey $principal@$realm" >/dev/null
  done
  mkdir -p "$keytabs"
  rm -f "$keytabs"/*.keytab
  kadmin.local -q "ktadd -k $keytabs/http-hbase.keytab HTTP/hbase@$realm" >/dev/null
  kadmin.local -q "ktadd -k $keytabs/hbase.keytab hbase/hbase@$realm" >/dev/null
  # The model service's SPNEGO service key (`sonarlab serve` with [serve] auth = kerberos, KRB5_KTNAME).
  kadmin.local -q "ktadd -k $keytabs/http-serve.keytab HTTP/serve@$realm" >/dev/null
  for user in trainer viewer intruder contract; do
    kadmin.local -q "ktadd -k $keytabs/$user.keytab $user@$realm" >/dev/null
  done
  chown "$hbase_uid" "$keytabs/http-hbase.keytab" "$keytabs/hbase.keytab"
  chown "$sonarlab_uid" "$keytabs/trainer.keytab" "$keytabs/viewer.keytab" "$keytabs/intruder.keytab" \
    "$keytabs/http-serve.keytab"
  chmod 0400 "$keytabs"/*.keytab
  # contract.keytab stays root-only: the CD job's Swift container runs as root.
  chmod 0755 "$keytabs"
  touch "$db_dir/.initialised"
  echo "kdc: principals and keytabs ready" >&2
fi

exec krb5kdc -n
