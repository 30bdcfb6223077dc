#!/usr/bin/env bash
# Installs what SonarLab needs on a fresh Debian machine that has the Swift toolchain:
#   Debian packages (only the missing ones) and, with --python GROUP, Python tools in .venv.
# Usage: scripts/install-deps.sh [--python test|bench|delivery|serve]...
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libncurses-dev libsqlite3-dev libkrb5-dev krb5-kdc krb5-admin-server krb5-user openssl tmux python3 python3-venv curl faketime locales hey)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python_groups=()
while (($#)); do
  case "$1" in
    --python) python_groups+=("$2"); shift 2 ;;
    *) echo "install-deps: unknown argument $1" >&2; exit 2 ;;
  esac
done
if ((${#python_groups[@]})); then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  for group in "${python_groups[@]}"; do
    req="scripts/requirements-$group.txt"
    [ -f "$req" ] || { echo "install-deps: no $req" >&2; exit 2; }
    stamp=".venv/.installed-$group"
    if [ ! -f "$stamp" ] || [ "$req" -nt "$stamp" ]; then
      echo "install-deps: installing Python tools from $req" >&2
      .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
      touch "$stamp"
    fi
  done
fi
