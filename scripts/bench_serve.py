#!/usr/bin/env python3
"""`make bench-serve`: `sonarlab serve` vs MLServer 1.7.1 (mlserver-sklearn) under the same V2 load (a benchmark).

Both servers run on the loopback interface and get the same Open Inference Protocol V2 infer bodies, 1 row and the 52
rows of the validation split, from the same load generator (`hey`, Debian; `-o csv`, one line per request, so the
percentiles p50 / p99 / p99.9 are computed here from every request's time, at hey's 0.1 ms resolution), at each
concurrency for the same duration. sonarlab serves the MLP it trains here (`sonarlab train`, config.ini's split and
seed) with `[serve] record = off`, and with `record = hbase` into `hbase-rest-double` (started here, no auth): after
those runs the service is stopped (SIGTERM flushes its outbox), `sonarlab sync` sends anything left, and the rows
of sonarlab:predictions are counted with a REST scanner against the rows answered with 200 — the table says whether
every recorded prediction arrived. MLServer serves an sklearn `MLPClassifier(hidden_layer_sizes=(40,))` (after a
StandardScaler) trained on the same prepared train split. Prints a Markdown table: requests/s, latency in ms,
server RSS in MiB after the run, non-200 answers.

Environment: BENCH_SECONDS (per run, default 5), BENCH_CONCURRENCY (default "1,16,64"), BENCH_ROWS (default "1,52"),
SONARLAB_BIN (default .build/release/sonarlab; hbase-rest-double is taken from the same folder), BENCH_CWD (the
checkout whose config.ini and data/ sonarlab uses, default this one), BENCH_VENV (the venv with mlserver, default
.venv), BENCH_SKIP_MLSERVER=1 to leave MLServer out, BENCH_SKIP_HBASE=1 to leave the recording runs out. Everything
runs in a temporary folder; every server is stopped at the end, whatever happens. Every wait is bounded.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = "127.0.0.1"  # both servers and the load generator stay on this machine
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
CONCURRENCY = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16,64").split(",")]
ROWS = [int(n) for n in os.environ.get("BENCH_ROWS", "1,52").split(",")]
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


def percentile(sorted_values, q):
    """The q-th percentile (0..100) by the nearest-rank method."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))  # ceil(n * q / 100)
    return sorted_values[min(len(sorted_values), int(rank)) - 1]


def hey(url, body_file, concurrency):
    """Runs hey for SECONDS; returns requests/s, p50 / p99 / p99.9 in ms, the non-200 count and the 200 count."""
    out = subprocess.run(
        ["hey", "-z", f"{SECONDS}s", "-c", str(concurrency), "-m", "POST", "-T", "application/json", "-D", body_file,
         "-o", "csv", url],
        capture_output=True, text=True, timeout=SECONDS + 120).stdout
    times, ok, other = [], 0, 0
    for line in out.splitlines()[1:]:
        fields = line.split(",")
        if len(fields) < 8:
            continue
        times.append(float(fields[0]) * 1000)
        if fields[6] == "200":
            ok += 1
        else:
            other += 1
    if not times:
        raise SystemExit(f"bench-serve: hey recorded no request:\n{out[:2000]}")
    times.sort()
    return (len(times) / SECONDS, percentile(times, 50), percentile(times, 99), percentile(times, 99.9), other, ok)


def count_rows(base_url, table):
    """Rows of `table` through a REST scanner (HBase's ScannerResource), 5,000 per batch."""
    request = urllib.request.Request(
        f"{base_url}/{urllib.parse.quote(table)}/scanner", method="PUT",
        data=b'{"batch": 5000}', headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        scanner = response.headers["Location"]
    rows = set()
    while True:
        with urllib.request.urlopen(
                urllib.request.Request(scanner, headers={"Accept": "application/json"}), timeout=120) as response:
            if response.status == 204:
                break
            for row in json.load(response).get("Row", []):
                rows.add(row["key"])
    urllib.request.urlopen(urllib.request.Request(scanner, method="DELETE"), timeout=60).close()
    return len(rows)


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
    for n in ROWS:
        path = os.path.join(work, f"body-{n}.json")
        with open(path, "w") as f:
            f.write(v2_body(rows[:n]))
        bodies[n] = path

    servers = [("sonarlab serve, record=off", "off")]
    double, hbase_env = None, None
    if os.environ.get("BENCH_SKIP_HBASE") != "1":
        double_port = free_port()
        double = start([os.path.join(os.path.dirname(SONARLAB), "hbase-rest-double"), "--host", LOOPBACK, "--port",
                        str(double_port), "--auth", "none", "--data-dir", os.path.join(work, "hbase")],
                       env, work, open(os.path.join(work, "double.log"), "w"))
        hbase_url = f"http://{LOOPBACK}:{double_port}"
        wait_ready(hbase_url + "/version/cluster", double)
        hbase_env = dict(env, SONARLAB_HBASE_URL=hbase_url, SONARLAB_HBASE_AUTH="none")
        subprocess.run([SONARLAB, "hbase", "init"], env=hbase_env, cwd=CWD, check=True, capture_output=True,
                       timeout=120)
        servers.append(("sonarlab serve, record=hbase (double)", "hbase"))
    if os.environ.get("BENCH_SKIP_MLSERVER") != "1":
        servers.append(("MLServer 1.7.1 (sklearn MLP 40)", None))
    results, recorded_rows = [], 0
    try:
        for name, record in servers:
            port = free_port()
            log = open(os.path.join(work, f"server-{len(results)}.log"), "w")
            if record is not None:
                server_env = dict(hbase_env if record == "hbase" else env, SONARLAB_SERVE_RECORD=record)
                process = start([SONARLAB, "serve", "--model", "latest", "--host", LOOPBACK, "--port", str(port)],
                                server_env, CWD, log)
            else:
                model_dir = prepare_mlserver(work, env["SONARLAB_DATA_PREPARED_DIR"], port)
                process = start([os.path.join(VENV_BIN, "mlserver"), "start", model_dir], env, model_dir, log)
            infer = f"http://{LOOPBACK}:{port}/v2/models/sonar/infer"
            try:
                wait_ready(f"http://{LOOPBACK}:{port}/v2/models/sonar/ready", process)
                for n, body in bodies.items():
                    warm = hey(infer, body, 1)  # warm-up, not in the table (its rows are recorded all the same)
                    if record == "hbase":
                        recorded_rows += warm[5] * n
                    for c in CONCURRENCY:
                        rate, p50, p99, p999, errors, ok = hey(infer, body, c)
                        if record == "hbase":
                            recorded_rows += ok * n
                        results.append((name, n, c, rate, p50, p99, p999, rss_mib(process.pid), errors))
                        print(f"bench-serve: {name}, {n} rows, c={c}: {rate:.0f} req/s", file=sys.stderr)
            finally:
                stop(process)
                log.close()
        hbase_line = ""
        if double is not None:
            sync = subprocess.run([SONARLAB, "sync"], env=hbase_env, cwd=CWD, capture_output=True, text=True,
                                  timeout=1800)
            stored = count_rows(hbase_env["SONARLAB_HBASE_URL"], "sonarlab:predictions")
            verdict = "all of them" if stored == recorded_rows else f"MISSING {recorded_rows - stored}"
            hbase_line = (f"\nrecord=hbase: {recorded_rows} predictions answered with 200, {stored} rows in "
                          f"sonarlab:predictions after the service stopped and `sonarlab sync` ({verdict}; sync: "
                          f"{sync.stdout.strip().splitlines()[-1] if sync.stdout.strip() else sync.returncode})")
    finally:
        stop(double)

    print(f"\n{SECONDS} s per run, hey -o csv on the loopback interface, V2 infer (FP32); RSS after the run:\n")
    print("| server | rows | concurrency | requests/s | p50 ms | p99 ms | p99.9 ms | RSS MiB | non-200 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, c, rate, p50, p99, p999, rss, errors in results:
        print(f"| {name} | {n} | {c} | {rate:.0f} | {p50:.2f} | {p99:.2f} | {p999:.2f} | {rss:.0f} | {errors} |")
    print(hbase_line)
    if "MISSING" in hbase_line:
        print(f"bench-serve: the run's folder is kept for a look: {work}", file=sys.stderr)
    else:
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
