#!/usr/bin/env bash
# libFuzzer runs of the fuzz targets (issue 7 item 4; docs/fuzzing.md): `make fuzz` and `make fuzz-smoke`.
#   scripts/fuzz.sh SECONDS [TARGET…]     TARGET: csv ini scenario cellset (default: all four)
# Builds the targets with `swift build --sanitize=fuzzer` in their own scratch path (.build-fuzz), then runs each
# for SECONDS on a fresh copy of its seeds (Fuzz/corpus/TARGET, which is never written to) with its dictionary.
# A crash, a broken promise (a trap in the check) or a slow input is saved to .fuzz/crashes/TARGET/ and makes
# the script fail after the other targets have run. Environment: SWIFT, FUZZ_SCRATCH (.build-fuzz),
# FUZZ_CONFIG (debug), FUZZ_OUT (.fuzz), FUZZ_ARGS (more libFuzzer flags, e.g. -max_len=65536).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
SWIFT=${SWIFT:-swift}
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
CONFIG=${FUZZ_CONFIG:-debug}
OUT=${FUZZ_OUT:-.fuzz}
SECONDS_EACH=${1:?usage: scripts/fuzz.sh SECONDS [csv|ini|scenario|cellset …]}
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(csv ini scenario cellset)
read -r -a EXTRA <<<"${FUZZ_ARGS:-}"

# libFuzzer ships in the toolchain's clang runtime; without it there is no fuzzing, in CI or anywhere else.
RESOURCE_DIR="$(dirname "$(realpath "$(command -v "$SWIFT")")")/../lib/clang"
if ! compgen -G "$RESOURCE_DIR/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null \
    && ! compgen -G "$RESOURCE_DIR/*/lib/*/libclang_rt.fuzzer*.a" >/dev/null; then
    echo "fuzz: libFuzzer (libclang_rt.fuzzer) is not in this toolchain ($RESOURCE_DIR); use a swift.org toolchain" >&2
    exit 1
fi

for target in "${TARGETS[@]}"; do
    [ -d "Fuzz/corpus/$target" ] || { echo "fuzz: unknown target '$target' (no Fuzz/corpus/$target)" >&2; exit 2; }
    start=$(date +%s)
    # One product per build: building everything with libFuzzer would give `sonarlab` two `main`s.
    "$SWIFT" build --sanitize=fuzzer -c "$CONFIG" --scratch-path "$SCRATCH" --product "fuzz-$target"
    echo "fuzz: built fuzz-$target in $(($(date +%s) - start)) s"
done
BIN="$("$SWIFT" build --sanitize=fuzzer -c "$CONFIG" --scratch-path "$SCRATCH" --show-bin-path)"

failed=()
summary=()
for target in "${TARGETS[@]}"; do
    work="$OUT/work/$target"
    crashes="$OUT/crashes/$target"
    rm -rf "$work"
    mkdir -p "$work" "$crashes"
    cp Fuzz/corpus/"$target"/* "$work/"
    log="$OUT/$target.log"
    echo "fuzz: fuzz-$target for ${SECONDS_EACH} s (log $log)"
    status=0
    # The Swift runtime's backtracer would catch the trap before libFuzzer can save the input.
    SWIFT_BACKTRACE=enable=no "$BIN/fuzz-$target" "$work" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -dict="Fuzz/dict/$target.dict" -artifact_prefix="$crashes/" "${EXTRA[@]}" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    summary+=("$(printf '%-9s %10s runs %8s exec/s  cov %5s  exit %s' "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$status")")
    if [ "$status" -ne 0 ]; then
        grep -E 'Fatal error|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -5 >&2 || true
        failed+=("$target")
    fi
done

printf '%s\n' "fuzz: results (${SECONDS_EACH} s each, $CONFIG build)" "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]}; inputs in $OUT/crashes/<target>/. Replay one with" >&2
    echo "  swift build --product fuzz-<target> && .build/debug/fuzz-<target> FILE" >&2
    echo "then copy it to Tests/Fixtures/fuzz-regressions/<target>/ and fix the parser (docs/fuzzing.md)." >&2
    exit 1
fi
