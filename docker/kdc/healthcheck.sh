#!/bin/sh
# Healthy when the KDC issues a ticket for a keytab it exported (proves the database and the listener).
set -eu
[ -f /var/lib/krb5kdc/.initialised ] || exit 1
cache="FILE:/tmp/healthcheck.$$"
kinit -k -t /keytabs/viewer.keytab -c "$cache" viewer >/dev/null 2>&1
kdestroy -c "$cache" >/dev/null 2>&1 || true
