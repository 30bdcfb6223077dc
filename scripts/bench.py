#!/usr/bin/env python3
"""`make bench`: SonarLab's Engine against PyTorch on this machine, one thread each, in one run.

(a) the training loop in-process: 80 full-batch epochs of 60-40-2 with validation metrics every epoch;
(b) the whole process: `sonarlab train --headless --json` against `torch_reference.py --process`;
(c) the time of `sonarlab cv --folds 10 --repeats 5`.
Prints both times and both ratios. Medians over repeated runs; the machine should be otherwise idle.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SONARLAB = os.path.join(ROOT, ".build/release/sonarlab")
BENCH = os.path.join(ROOT, ".build/release/sonarlab-bench")
PY = sys.executable
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def run_json(cmd, cwd=ROOT):
    out = subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def wall(cmd, repeats, cwd):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    work = tempfile.mkdtemp(prefix="sonarlab-bench-")
    config = os.path.join(work, "config.ini")
    with open(config, "w") as f:
        f.write(f"[data]\npath = {ROOT}/data/sonar.all-data\nprepared_dir = {work}/prepared\n"
                f"[tracking]\ndir = {work}/store\nexperiments_dir = {work}/experiments\n")
    subprocess.run([SONARLAB, "prepare", "--config", config], check=True, capture_output=True)
    split = os.path.join(work, "prepared/split.json")

    engine = run_json([BENCH, "--json", "--repeats", "50"])
    torch_loop = run_json([PY, os.path.join(ROOT, "scripts/torch_reference.py"), "--split", split, "--repeats", "20",
                           "--data", os.path.join(ROOT, "data/sonar.all-data")])
    process_engine = wall([SONARLAB, "train", "--headless", "--json", "--config", config], 10, work)
    process_torch = wall([PY, os.path.join(ROOT, "scripts/torch_reference.py"), "--process", "--split", split,
                          "--data", os.path.join(ROOT, "data/sonar.all-data")], 5, work)

    loop_ratio = torch_loop["loop_ms_median"] / engine["loop_ms_median"]
    process_ratio = process_torch / process_engine
    print(f"PyTorch {torch_loop['torch']}, one thread each; medians")
    print(f"(a) training loop, 80 full-batch epochs + validation metrics each epoch:")
    print(f"    SonarLab Engine {engine['loop_ms_median']:8.2f} ms   (val acc {engine['validation_accuracy']:.4f})")
    print(f"    PyTorch         {torch_loop['loop_ms_median']:8.2f} ms   (val acc {torch_loop['validation_accuracy']:.4f})")
    print(f"    ratio           {loop_ratio:8.1f}x faster")
    print(f"(b) whole process (start, load, train, save, exit):")
    print(f"    sonarlab train  {1000 * process_engine:8.1f} ms")
    print(f"    python+torch    {1000 * process_torch:8.1f} ms")
    print(f"    ratio           {process_ratio:8.1f}x faster")
    print(f"(c) 5x10-fold cross-validation (50 fits): {engine['cv_seconds']:.3f} s, "
          f"accuracy {engine['cv_accuracy_mean']:.4f}, macro-F1 {engine['cv_f1_mean']:.4f}")
    failed = []
    if loop_ratio < 2:
        failed.append(f"loop ratio {loop_ratio:.1f}x < 2x")
    if process_ratio < 10:
        failed.append(f"process ratio {process_ratio:.1f}x < 10x")
    if failed:
        print("bench: below target: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
