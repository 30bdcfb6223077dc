#!/usr/bin/env python3
"""`make bench-serve`: `sonarlab serve` vs MLServer 1.7.1 (mlserver-sklearn) under the same V2 load (a benchmark).

Both servers run on the loopback interface and get the same Open Inference Protocol V2 infer body, 1 row and 32 rows
of the validation split, from the same load generator (`hey`, Debian), at each concurrency for the same duration.
sonarlab serves the MLP it trains here (`sonarlab train`, config.ini's split and seed), with `[serve] record = off`
and `= local`; MLServer serves an sklearn `MLPClassifier(hidden_layer_sizes=(40,))` (after a StandardScaler) trained
on the same prepared train split. Prints a Markdown table: requests/s, p50 / p99 latency in ms, server RSS in MiB.

Environment: BENCH_SECONDS (per run, default 5), BENCH_CONCURRENCY (default "1,16"), SONARLAB_BIN (default
.build/release/sonarlab), BENCH_CWD (the checkout whose config.ini and data/ sonarlab uses, default this one),
BENCH_VENV (the venv with mlserver, default .venv), BENCH_SKIP_MLSERVER=1 to leave MLServer out. Everything runs in a temporary folder; every
server is stopped at the end, whatever happens. Every wait is bounded.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = "127.0.0.1"  # both servers and the load generator stay on this machine
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16").split(",")]
SONARLAB = os.environ.get("SONARLAB_BIN", os.path.join(ROOT, ".build/release/sonarlab"))
VENV_BIN = os.path.join(os.environ.get("BENCH_VENV", os.path.join(ROOT, ".venv")), "bin")
# Where the sonarlab commands run (config.ini, data/): this checkout unless BENCH_CWD names another one.
CWD = os.environ.get("BENCH_CWD", ROOT)


def free_port():
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_ready(url, process, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench-serve: the server exited ({process.returncode}) before it was ready: {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench-serve: {url} was not ready within {timeout} s")


def rss_mib(pid):
    """Resident set size of the process and its children (MLServer forks workers), in MiB."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def hey(url, body_file, concurrency):
    out = subprocess.run(
        ["hey", "-z", f"{SECONDS}s", "-c", str(concurrency), "-m", "POST", "-T", "application/json", "-D", body_file,
         url],
        capture_output=True, text=True, timeout=SECONDS + 60).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    p50 = re.search(r"50%+ in ([0-9.]+) secs", out)
    p99 = re.search(r"99%+ in ([0-9.]+) secs", out)
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    if not rate or not p50 or not p99:
        raise SystemExit(f"bench-serve: cannot read hey's summary:\n{out}")
    errors = sum(int(n) for code, n in codes.items() if code != "200")
    return float(rate.group(1)), float(p50.group(1)) * 1000, float(p99.group(1)) * 1000, errors


def load_validation(prepared):
    rows = []
    with open(os.path.join(prepared, "validation.csv")) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) == 61:
                try:
                    rows.append([float(x) for x in fields[:60]])
                except ValueError:
                    continue  # a header line
    return rows


def v2_body(rows):
    flat = [x for row in rows for x in row]
    return json.dumps({"inputs": [{"name": "features", "shape": [len(rows), 60], "datatype": "FP32", "data": flat}]})


def start(cmd, env, cwd, log):
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process):
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def main():
    if not shutil.which("hey"):
        raise SystemExit("bench-serve: hey is not installed (scripts/install-deps.sh installs it)")
    work = tempfile.mkdtemp(prefix="sonarlab-bench-serve-")
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("SONARLAB_") and key != "SONARLAB_BIN":
            del env[key]
    env.update({
        "SONARLAB_TRACKING_DIR": os.path.join(work, "store"),
        "SONARLAB_TRACKING_EXPERIMENTS_DIR": os.path.join(work, "experiments"),
        "SONARLAB_DATA_PREPARED_DIR": os.path.join(work, "prepared"),
        "SONARLAB_TRACKING_BACKEND": "local",
    })
    subprocess.run([SONARLAB, "prepare"], env=env, cwd=CWD, check=True, capture_output=True, timeout=120)
    subprocess.run([SONARLAB, "train", "--json"], env=env, cwd=CWD, check=True, capture_output=True, timeout=300)
    rows = load_validation(env["SONARLAB_DATA_PREPARED_DIR"])
    bodies = {}
    for n in (1, 32):
        path = os.path.join(work, f"body-{n}.json")
        with open(path, "w") as f:
            f.write(v2_body(rows[:n]))
        bodies[n] = path

    servers = [("sonarlab serve, record=off", "off"), ("sonarlab serve, record=local", "local")]
    if os.environ.get("BENCH_SKIP_MLSERVER") != "1":
        servers.append(("MLServer 1.7.1 (sklearn MLP 40)", None))
    results = []
    for name, record in servers:
        port = free_port()
        log = open(os.path.join(work, f"server-{len(results)}.log"), "w")
        if record is not None:
            server_env = dict(env, SONARLAB_SERVE_RECORD=record)
            process = start([SONARLAB, "serve", "--model", "latest", "--host", LOOPBACK, "--port", str(port)],
                            server_env, CWD, log)
            infer = f"http://{LOOPBACK}:{port}/v2/models/sonar/infer"
        else:
            model_dir = prepare_mlserver(work, env["SONARLAB_DATA_PREPARED_DIR"], port)
            process = start([os.path.join(VENV_BIN, "mlserver"), "start", model_dir], env, model_dir, log)
            infer = f"http://{LOOPBACK}:{port}/v2/models/sonar/infer"
        try:
            wait_ready(f"http://{LOOPBACK}:{port}/v2/models/sonar/ready", process)
            for n, body in bodies.items():
                hey(infer, body, 1)  # warm-up, not counted
                for c in CONCURRENCY:
                    rate, p50, p99, errors = hey(infer, body, c)
                    results.append((name, n, c, rate, p50, p99, rss_mib(process.pid), errors))
                    print(f"bench-serve: {name}, {n} rows, c={c}: {rate:.0f} req/s", file=sys.stderr)
        finally:
            stop(process)
            log.close()

    print(f"\n{SECONDS} s per run, hey on the loopback interface, V2 infer (FP32):\n")
    print("| server | rows | concurrency | requests/s | p50 ms | p99 ms | RSS MiB | non-200 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, c, rate, p50, p99, rss, errors in results:
        print(f"| {name} | {n} | {c} | {rate:.0f} | {p50:.2f} | {p99:.2f} | {rss:.0f} | {errors} |")
    shutil.rmtree(work, ignore_errors=True)


def prepare_mlserver(work, prepared, port):
    """Trains the sklearn reference on the prepared train split and writes MLServer's settings for it."""
    import joblib
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = [], []
    with open(os.path.join(prepared, "train.csv")) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) == 61 and fields[60] in ("R", "M"):
                x.append([float(v) for v in fields[:60]])
                y.append(fields[60])
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(40,), max_iter=500, random_state=42))
    model.fit(x, y)
    model_dir = os.path.join(work, "sonar")  # MLServer wants the folder named as the model
    os.makedirs(model_dir, exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    with open(os.path.join(model_dir, "settings.json"), "w") as f:
        json.dump({"host": LOOPBACK, "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
                   # 0: inference in the server process. MLServer 1.7.1's worker processes die at start with
                   # uvloop >= 0.22 ("There is no current event loop"), and one worker process is what 1 would give.
                   "parallel_workers": 0}, f)
    with open(os.path.join(model_dir, "model-settings.json"), "w") as f:
        json.dump({"name": "sonar", "implementation": "mlserver_sklearn.SKLearnModel",
                   "parameters": {"uri": "./model.joblib", "version": "v1"}}, f)
    return model_dir


if __name__ == "__main__":
    main()
