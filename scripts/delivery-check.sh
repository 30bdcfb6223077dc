#!/usr/bin/env bash
# Checks of the delivery files (issue 8). Usage: scripts/delivery-check.sh lint|dvc|all
#   lint: hadolint (every Dockerfile), shellcheck (delivery scripts), actionlint (workflows),
#         docker compose config (with .env.example, and with the contract profile), detect-secrets against
#         .secrets.baseline, and no address/credential literal in Sources/ or config.ini.
#   dvc:  `dvc repro` in a temporary copy of the working tree (tracked + untracked, not ignored files), so this
#         tree is never touched; then `dvc status`, metrics, and a push/pull round trip through the local remote.
# Tools come from scripts/requirements-delivery.txt in .venv (scripts/install-deps.sh --python delivery).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
bin="$root/.venv/bin"
mode="${1:-all}"

step() { printf '\n== %s\n' "$*" >&2; }
fail() { echo "delivery-check: $*" >&2; exit 1; }

lint() {
  step "hadolint"
  mapfile -t dockerfiles < <(git ls-files -co --exclude-standard -- 'Dockerfile' '*/Dockerfile' '*.Dockerfile')
  ((${#dockerfiles[@]})) || fail "no Dockerfile found"
  "$bin/hadolint" --config .hadolint.yaml "${dockerfiles[@]}"
  echo "hadolint: ${dockerfiles[*]} clean"

  step "shellcheck"
  mapfile -t scripts < <(git ls-files -co --exclude-standard -- 'docker/*.sh' 'scripts/*.sh' 'scripts/sonarlab' '.ci/run')
  "$bin/shellcheck" -x "${scripts[@]}"
  echo "shellcheck: ${#scripts[@]} scripts clean"

  step "actionlint"
  local workflows=(.github/workflows/*.yml)
  "$bin/actionlint" -shellcheck "$bin/shellcheck" "${workflows[@]}"
  echo "actionlint: ${workflows[*]} clean"

  step "docker compose config"
  "$bin/docker-compose" --env-file .env.example config --quiet
  "$bin/docker-compose" --env-file .env.example --profile contract config --quiet
  echo "docker compose config: docker-compose.yml clean (default and contract profiles)"

  step "detect-secrets"
  mapfile -t files < <(git ls-files -co --exclude-standard | grep -v -E '^(data/|Package\.resolved$|\.secrets\.baseline$)')
  # Compare findings by (file, type, hash), not by line: merges move lines, and a moved known finding is
  # not a new secret. Fake credentials in tests carry a `pragma: allowlist secret` comment.
  # The SHA-256 of data/sonar.all-data (published in data/README.md) is recorded with every run: not a secret.
  "$bin/detect-secrets" scan --exclude-secrets 'e90434cdbf00fcf93ffa911fe447ae25606979658e60f1d32e155c3b5240234d' \
    "${files[@]}" >"${TMPDIR:-/tmp}/sonarlab-secrets.json"
  "$bin/python" - .secrets.baseline "${TMPDIR:-/tmp}/sonarlab-secrets.json" <<'PY' \
    || fail "detect-secrets found a secret not in .secrets.baseline (remove it; a fake one in a test gets a \`pragma: allowlist secret\` comment)"
import json, sys
def keys(path):
    results = json.load(open(path))["results"]
    return {(f, s["type"], s["hashed_secret"]) for f, found in results.items() for s in found}
new = keys(sys.argv[2]) - keys(sys.argv[1])
for f, kind, _ in sorted(new):
    print(f"new finding: {f}: {kind}", file=sys.stderr)
sys.exit(1 if new else 0)
PY
  echo "detect-secrets: ${#files[@]} files, nothing new against .secrets.baseline"

  step "address and credential literals"
  "$bin/python" scripts/check-literals.py "$root"
}

dvc_check() {
  step "dvc repro (temporary copy of the working tree)"
  local tmp
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/sonarlab-dvc.XXXXXX")"
  trap 'rm -rf "$tmp"' RETURN
  git ls-files -co --exclude-standard -z | xargs -0 tar -cf - | tar -xf - -C "$tmp"
  local before
  before="$(git status --porcelain)"
  # The stages call scripts/sonarlab; point it at a binary of this tree that is newer than its sources: the
  # release one, or the debug one `make test` just built (Engine is optimised in debug too), else `make build`.
  local sonarlab=""
  for candidate in "${SONARLAB_BIN:-}" .build/release/sonarlab .build/debug/sonarlab; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
      && [ -z "$(find Package.swift Sources -newer "$candidate" -print -quit)" ]; then
      sonarlab="$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")"
      break
    fi
  done
  if [ -z "$sonarlab" ]; then
    make --no-print-directory build >&2
    sonarlab="$root/.build/release/sonarlab"
  fi
  echo "dvc: stages run $sonarlab" >&2
  (
    cd "$tmp"
    export SONARLAB_BIN="$sonarlab" PATH="$bin:$PATH" LLVM_PROFILE_FILE="$tmp/%p.profraw"
    git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm snapshot
    dvc repro || fail "dvc repro failed"
    for out in prepared/train.csv prepared/validation.csv models/model.json metrics/train.json metrics/eval.json metrics/epochs.csv; do
      [ -s "$out" ] || fail "dvc repro did not produce $out"
    done
    dvc status --quiet || fail "dvc status reports changes right after dvc repro"
    python3 - <<'PY'
import json, sys
eval_metrics = json.load(open("metrics/eval.json"))
train_metrics = json.load(open("metrics/train.json"))
acc = eval_metrics["accuracy"]
if abs(acc - train_metrics["validation"]["accuracy"]) > 1e-9:
    sys.exit(f"evaluate accuracy {acc} differs from train's validation accuracy")
if acc < 0.7:
    sys.exit(f"validation accuracy {acc} below 0.7")
print(f"dvc: model reproduced, validation accuracy {acc:.4f}, macro-F1 {eval_metrics['f1']:.4f}")
PY
    dvc metrics show
    dvc push || fail "dvc push to the local remote failed"
    rm -rf .dvc/cache models prepared
    dvc pull || fail "dvc pull from the local remote failed"
    [ -s models/model.json ] || fail "dvc pull did not restore models/model.json from the local remote"
    dvc status --quiet || fail "dvc status reports changes after push, clean and pull"
    echo "dvc: push to and pull from the local remote restore the model"
  )
  [ "$(git status --porcelain)" == "$before" ] || fail "dvc check changed the working tree"
}

scripts/install-deps.sh --python delivery
case "$mode" in
  lint) lint ;;
  dvc) dvc_check ;;
  all) lint; dvc_check ;;
  *) fail "unknown mode $mode (lint|dvc|all)" ;;
esac
echo "delivery-check: $mode passed" >&2
