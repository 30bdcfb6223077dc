#!/usr/bin/env python3
"""`make bench-sweep`: `sonarlab sweep --strategy tpe` against Optuna 5.0 (TPE) + scikit-learn MLPClassifier.

The same search space, the same number of trials (TRIALS, default 100), the same protocol (REPEATS x FOLDS
stratified CV, default 5 x 10, standardised inside each fold), both on JOBS (default 2) parallel trials. Prints the
wall time, trials per second, the best inner CV accuracy and the time each first reached TARGET (default 0.86).

Space: hidden_size 8..128 (log), lr 0.001..0.1 (log), epochs 40..200, batch_size full | 16 | 32.
This is a benchmark, not a test: the figures depend on the machine and its load.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SONARLAB = os.environ.get("SONARLAB_BIN", os.path.join(ROOT, ".build/release/sonarlab"))
DATA = os.path.join(ROOT, "data/sonar.all-data")
TRIALS = int(os.environ.get("TRIALS", "100"))
JOBS = int(os.environ.get("JOBS", "2"))
FOLDS = int(os.environ.get("FOLDS", "10"))
REPEATS = int(os.environ.get("REPEATS", "5"))
TARGET = float(os.environ.get("TARGET", "0.86"))
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def seconds(text):
    """ProgressLine.duration back to seconds: `12.34s`, `m:ss` or `h:mm:ss`."""
    if text.endswith("s"):
        return float(text[:-1])
    parts = [int(p) for p in text.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))


def sonarlab():
    work = tempfile.mkdtemp(prefix="sonarlab-bench-sweep-")
    with open(os.path.join(work, "config.ini"), "w") as f:
        f.write(f"[data]\npath = {DATA}\n[tracking]\ndir = {work}/store\n")
    cmd = [SONARLAB, "sweep", "--strategy", "tpe", "--trials", str(TRIALS), "--jobs", str(JOBS),
           "--folds", str(FOLDS), "--repeats", str(REPEATS), "--hidden", "8..128:log", "--lr", "0.001..0.1:log",
           "--epochs", "40..200", "--batch-size", "full,16,32", "--seed", "1"]
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=work, env=ENV, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    first = None
    best = 0.0
    # stderr is not a terminal: one line per trial, `trial N/T | best 0.8650 (#7) | … elapsed 12.34s …`.
    for line in run.stderr.splitlines():
        m = re.search(r"best ([0-9.]+) .*elapsed (\S+)", line)
        if m:
            best = max(best, float(m.group(1)))
            if first is None and best >= TARGET:
                first = seconds(m.group(2))
    return wall, best, first


def optuna_sklearn():
    import numpy as np
    import optuna
    from sklearn.model_selection import RepeatedStratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import warnings

    warnings.filterwarnings("ignore")
    rows = [line.strip().split(",") for line in open(DATA) if line.strip()]
    x = np.array([[float(v) for v in r[:-1]] for r in rows])
    y = np.array([r[-1] for r in rows])
    cv = RepeatedStratifiedKFold(n_splits=FOLDS, n_repeats=REPEATS, random_state=42)
    times = []

    def objective(trial):
        hidden = trial.suggest_int("hidden_size", 8, 128, log=True)
        lr = trial.suggest_float("lr", 0.001, 0.1, log=True)
        epochs = trial.suggest_int("epochs", 40, 200)
        batch = trial.suggest_categorical("batch_size", ["full", "16", "32"])
        model = make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(hidden,), learning_rate_init=lr, max_iter=epochs,
                          batch_size=len(y) if batch == "full" else int(batch), solver="adam", tol=0.0,
                          n_iter_no_change=epochs + 1, random_state=0))
        return float(np.mean(cross_val_score(model, x, y, cv=cv, n_jobs=1)))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=1))
    start = time.perf_counter()
    study.optimize(objective, n_trials=TRIALS, n_jobs=JOBS,
                   callbacks=[lambda s, t: times.append((time.perf_counter() - start, t.value or 0.0))])
    wall = time.perf_counter() - start
    first = None
    best = 0.0
    for at, value in sorted(times):
        best = max(best, value)
        if first is None and best >= TARGET:
            first = at
    return wall, best, first


def main():
    print(f"sweep benchmark: {TRIALS} trials, {REPEATS}x{FOLDS} stratified CV, {JOBS} jobs, target {TARGET}")
    results = {"sonarlab sweep --strategy tpe": sonarlab(), "Optuna 5.0 TPE + sklearn MLPClassifier": optuna_sklearn()}
    print(f"{'':42} {'wall s':>9} {'trials/s':>9} {'best acc':>9} {'to ' + str(TARGET):>9}")
    for name, (wall, best, first) in results.items():
        reach = f"{first:.1f}" if first is not None else "never"
        print(f"{name:42} {wall:9.1f} {TRIALS / wall:9.3f} {best:9.4f} {reach:>9}")
    (sl, ot) = results.values()
    print(f"speed-up (wall): {ot[0] / sl[0]:.1f}x")
    json.dump({k: {"wall_seconds": v[0], "best_accuracy": v[1], "seconds_to_target": v[2]} for k, v in results.items()},
              sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
