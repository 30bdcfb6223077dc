#!/usr/bin/env bash
# Training-loop time with the dashboard open vs headless (issue 3: at most 10 % more).
# Runs `sonarlab train` headless and `sonarlab dashboard` under a detached tmux (press t, wait, q) in turn,
# and prints the last epoch's elapsed_seconds of each run (from `sonarlab show latest --json`).
# Usage: scripts/dashboard-overhead.sh [BINARY] [EPOCHS] [REPEATS]   (needs tmux; works in a scratch folder)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$(realpath "${1:-$ROOT/.build/release/sonarlab}")"
EPOCHS="${2:-2000}"
REPEATS="${3:-3}"
DATA="$ROOT/data/sonar.all-data"
WORK="$(mktemp -d)"
SOCKET="sonarlab-overhead-$$"
trap 'tmux -L "$SOCKET" kill-server 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp "$ROOT/config.ini" "$WORK/"
cd "$WORK"
last() { "$BIN" show latest --config config.ini --json | grep elapsed_seconds | tail -1 | tr -dc '0-9.'; }
headless=(); dashboard=()
for _ in $(seq "$REPEATS"); do
    "$BIN" train --config config.ini --data "$DATA" --epochs "$EPOCHS" --json >/dev/null 2>&1
    headless+=("$(last)")
    tmux -L "$SOCKET" new-session -d -x 120 -y 40 "'$BIN' dashboard --config config.ini --data '$DATA' --epochs $EPOCHS"
    sleep 1.5
    tmux -L "$SOCKET" send-keys t
    for _ in $(seq 1 3000); do
        sleep 0.2
        tmux -L "$SOCKET" capture-pane -p | grep -q "· finished ·" && break
    done
    tmux -L "$SOCKET" send-keys q
    sleep 1
    tmux -L "$SOCKET" kill-server 2>/dev/null || true
    dashboard+=("$(last)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
h="$(median "${headless[@]}")"; d="$(median "${dashboard[@]}")"
echo "epochs $EPOCHS, $REPEATS runs each; training loop seconds, median"
echo "headless  $h  (${headless[*]})"
echo "dashboard $d  (${dashboard[*]})"
awk -v h="$h" -v d="$d" 'BEGIN { printf "overhead  %+.1f %%\n", (d / h - 1) * 100 }'
