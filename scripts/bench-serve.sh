#!/usr/bin/env bash
# `make bench-serve`: sonarlab serve vs MLServer 1.7.1 under the same V2 load (a benchmark, never part of make test).
# Installs hey (Debian) and the bench venv group (mlserver, mlserver-sklearn, scikit-learn), builds the release
# binary, then runs scripts/bench_serve.py (BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_SKIP_MLSERVER: see its header).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --python bench
swift build -c release --product sonarlab
swift build -c release --product hbase-rest-double
exec timeout 1800 .venv/bin/python scripts/bench_serve.py "$@"
