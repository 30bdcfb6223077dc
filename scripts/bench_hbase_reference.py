#!/usr/bin/env python3
"""Reference client for the HBase bench: the same workload as hbase-bench, with `requests`.

Writes N prediction-shaped rows in batches (CellSet JSON, base64 per HBASE_REST.md §2), then scans them
back with a stateful scanner (§3.8), and prints one JSON line of timings.

usage: bench_hbase_reference.py URL TABLE [ROWS] [BATCH] [SCAN_BATCH]
"""
import base64
import json
import sys
import time
import urllib.parse

import requests


def b64(text):
    return base64.b64encode(text.encode()).decode()


def main():
    url, table = sys.argv[1].rstrip("/"), sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    scan_batch = int(sys.argv[5]) if len(sys.argv) > 5 else 5000
    session = requests.Session()
    session.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
    tpath = urllib.parse.quote(table, safe="")
    r = session.put(f"{url}/{tpath}/schema", data=json.dumps({"name": table, "ColumnSchema": [{"name": "p", "VERSIONS": "1"}]}))
    assert r.status_code in (200, 201), r.status_code
    keys = ["bench-model/validation/%06d" % i for i in range(rows)]
    start = time.perf_counter()
    for s in range(0, rows, batch):
        cellset = {"Row": [{"key": b64(keys[i]), "Cell": [
            {"column": b64("p:label"), "$": b64("R" if i % 2 == 0 else "M")},
            {"column": b64("p:probability"), "$": b64(str(0.5 + (i % 500) / 1000))},
            {"column": b64("p:input"), "$": b64(f"validation/{i}")},
        ]} for i in range(s, min(rows, s + batch))]}
        r = session.put(f"{url}/{tpath}/{urllib.parse.quote(keys[s], safe='')}", data=json.dumps(cellset))
        assert r.status_code == 200, r.status_code
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    scanner = {"startRow": b64("bench-model/"), "endRow": b64("bench-model0"), "batch": scan_batch}
    r = session.put(f"{url}/{tpath}/scanner", data=json.dumps(scanner))
    assert r.status_code == 201, r.status_code
    scanner_id = r.headers["Location"].rstrip("/").split("/")[-1]
    seen = []
    while True:
        r = session.get(f"{url}/{tpath}/scanner/{scanner_id}")
        if r.status_code == 204:
            break
        assert r.status_code == 200, r.status_code
        for row in r.json().get("Row", []):
            key = base64.b64decode(row["key"])
            if not seen or seen[-1] != key:
                seen.append(key)
    session.delete(f"{url}/{tpath}/scanner/{scanner_id}")
    scan_s = time.perf_counter() - start
    session.delete(f"{url}/{tpath}/schema")
    assert len(seen) == rows, len(seen)
    print(json.dumps({"client": "python-requests", "rows": rows, "batch": batch, "write_s": write_s, "scan_s": scan_s}))


if __name__ == "__main__":
    main()
