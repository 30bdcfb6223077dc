#!/usr/bin/env bash
# Starts secured standalone HBase and its REST gateway, applies the grants, then waits on both JVMs.
#  1. a fresh test CA and a server certificate for "hbase" (PKCS#12 keystore for the REST gateway); the CA
#     certificate goes to the shared volume /tls/ca.pem for clients (SONARLAB_HBASE_CA_FILE);
#  2. hbase-site.xml rendered from the template with the keystore password from a compose secret;
#  3. `hbase master start` (standalone), `hbase rest start`;
#  4. grants.rb as the superuser hbase/hbase (kinit from its keytab); /var/lib/hbase/ready marks success.
set -euo pipefail

password_file="${HBASE_KEYSTORE_PASSWORD_FILE:-/run/secrets/hbase_keystore_password}"
tls_dir=/var/lib/hbase/tls
shared_tls=/tls
conf_dir="$HBASE_CONF_DIR"
ready=/var/lib/hbase/ready
rm -f "$ready"

for f in "$password_file" /keytabs/hbase.keytab /keytabs/http-hbase.keytab; do
  [ -r "$f" ] || { echo "hbase: cannot read $f" >&2; exit 2; }
done
keystore_password="$(cat "$password_file")"

# 1. TLS material (regenerated at each start; private keys stay in this container).
umask 077
openssl req -x509 -newkey rsa:3072 -sha256 -days 30 -nodes -subj "/CN=SonarLab test CA" \
  -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.pem" 2>/dev/null
openssl req -newkey rsa:3072 -sha256 -nodes -subj "/CN=hbase" \
  -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:hbase,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
  > "$tls_dir/server.ext"
openssl x509 -req -sha256 -days 30 -in "$tls_dir/server.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca.key" \
  -CAcreateserial -extfile "$tls_dir/server.ext" -out "$tls_dir/server.pem" 2>/dev/null
openssl pkcs12 -export -name hbase-rest -in "$tls_dir/server.pem" -inkey "$tls_dir/server.key" \
  -certfile "$tls_dir/ca.pem" -out "$tls_dir/rest-keystore.p12" -passout "file:$password_file"
rm -f "$tls_dir/ca.key" "$tls_dir/server.csr" "$tls_dir/server.key"
umask 022
cp "$tls_dir/ca.pem" "$shared_tls/ca.pem"
chmod 0644 "$shared_tls/ca.pem"

# 2. Configuration: core-site.xml, hbase-site.xml from the template, the stock log4j2 and hbase-env.
cp "$HBASE_HOME"/conf/log4j2.properties "$HBASE_HOME"/conf/hbase-env.sh "$conf_dir"/ 2>/dev/null || true
cp /opt/hbase/conf-template/core-site.xml "$conf_dir"/core-site.xml
escaped="$(printf '%s' "$keystore_password" | sed -e 's/[&/\]/\\&/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')"
umask 077
sed "s/@KEYSTORE_PASSWORD@/$escaped/g" /opt/hbase/conf-template/hbase-site.xml.template > "$conf_dir/hbase-site.xml"
umask 022
unset keystore_password escaped
export HBASE_OPTS="${HBASE_OPTS:-} -Djava.security.krb5.conf=/etc/krb5.conf"

# 3. The JVMs.
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait || true; }
trap stop TERM INT
hbase master start > >(sed 's/^/[master] /') 2>&1 &
pids+=("$!")

export KRB5CCNAME=FILE:/tmp/krb5cc_hbase_admin
kinit -k -t /keytabs/hbase.keytab hbase/hbase@SONARLAB.TEST
echo "hbase: waiting for the master" >&2
for _ in $(seq 1 90); do
  if echo "status 'simple'" | hbase shell -n >/dev/null 2>&1; then break; fi
  kill -0 "${pids[0]}" 2>/dev/null || { echo "hbase: master exited" >&2; exit 1; }
  sleep 2
done

hbase rest start > >(sed 's/^/[rest] /') 2>&1 &
pids+=("$!")

# 4. Grants, as the superuser.
hbase shell -n /opt/hbase/conf-template/grants.rb
kdestroy || true
touch "$ready"
echo "hbase: ready (REST https on 8080, SPNEGO, AccessController)" >&2

# Exit (and let compose report it) as soon as either JVM stops.
wait -n "${pids[@]}"
status=$?
echo "hbase: a JVM exited with $status" >&2
stop
exit "$status"
