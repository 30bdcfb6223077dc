#!/usr/bin/env bash
# The image's healthcheck (installed as /usr/local/bin/sonarlab-healthcheck). When the container runs `sonarlab serve`,
# healthy once GET /v2/health/ready answers 200 on the loopback interface ([serve] port, SONARLAB_SERVE_PORT, default
# 8089); any other command (the headless job, a shell) listens on nothing and is reported healthy.
# No curl in the slim image: bash's /dev/tcp. A service with TLS (SONARLAB_SERVE_TLS_CERT_FILE) is checked for a
# listening port only.
set -euo pipefail
if ! tr '\0' ' ' </proc/1/cmdline | grep -qw serve; then
  exit 0
fi
port="${SONARLAB_SERVE_PORT:-8089}"
exec 3<>"/dev/tcp/127.0.0.1/$port"
if [ -n "${SONARLAB_SERVE_TLS_CERT_FILE:-}" ]; then
  exit 0
fi
printf 'GET /v2/health/ready HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 5 status <&3
[[ "$status" == *" 200 "* ]]
