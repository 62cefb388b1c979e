#!/usr/bin/env python3
"""One HTTP/JSON benchmark case for scripts/bench.sh: h2load --h1 against the aggregator's HTTP
face, reported as one JSON line in fanout-bench's format (rps, latency_us p50/p90/p99, CPU per
request of the named processes), so that bench.sh's table shows it next to the gRPC cases.

    bench-http.py --label L --url URL -c N --duration 10s --warmup 2s --pid NAME=PID[,PID...]...

h2load keeps N connections with one request in flight on each (HTTP/1.1 has no multiplexing);
its per-request log gives the latencies of the requests that started after the warm-up. CPU is
read from /proc at the end of the warm-up and at the end of the run. An answer other than 200
counts as an error."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def seconds(text):
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text.rstrip("s"))


def cpu_s(pids):
    total = 0.0
    for pid in pids:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("-c", type=int, required=True)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--warmup", default="2s")
    ap.add_argument("--features", type=int, default=12, help="feature calls per aggregate")
    ap.add_argument("--pid", action="append", default=[])
    a = ap.parse_args()
    groups = {}
    for spec in a.pid:
        name, pids = spec.split("=", 1)
        groups[name] = [int(p) for p in pids.split(",")]
    warmup, duration = seconds(a.warmup), seconds(a.duration)
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        start = time.time()
        proc = subprocess.Popen(["h2load", "--h1", "-c", str(a.c), "-m", "1", "--warm-up-time", a.warmup,
                                 "-D", a.duration, "--log-file", log.name, a.url],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        marks = {}

        def mark():
            time.sleep(warmup)
            marks["cpu"] = {n: cpu_s(p) for n, p in groups.items()}
            marks["bench"] = time.process_time()

        t = threading.Thread(target=mark)
        t.start()
        try:
            out = proc.communicate(timeout=warmup + duration + 30)[0].decode()
        except subprocess.TimeoutExpired:
            proc.kill()
            sys.exit("bench-http: h2load did not finish: " + proc.communicate()[0].decode())
        t.join()
        end_cpu = {n: cpu_s(p) for n, p in groups.items()}
        if proc.returncode != 0:
            sys.exit("bench-http: h2load failed:\n" + out)
        rows = [line.split("\t") for line in open(log.name).read().splitlines() if line]
    measured_from = (start + warmup) * 1e6
    rows = [r for r in rows if float(r[0]) >= measured_from]
    lat = sorted(int(r[2]) for r in rows)
    errors = sum(1 for r in rows if r[1] != "200")
    n = max(len(rows), 1)
    result = {
        "label": a.label, "mode": "aggregate-http", "target": a.url, "concurrency": a.c, "connections": a.c,
        "window_s": duration, "warmup_s": warmup, "requests": len(rows), "ok": len(rows) - errors,
        "errors": {"HTTP_NOT_200": errors} if errors else {}, "partial": 0,
        "feature_calls": len(rows) * a.features, "rps": len(rows) / duration,
        "latency_us": {"p50": percentile(lat, 50), "p90": percentile(lat, 90), "p99": percentile(lat, 99),
                       "max": lat[-1] if lat else None},
        "bench_cpu_us_per_req": None,
        "procs": {name: {"pids": pids, "cpu_s": end_cpu[name] - marks["cpu"][name],
                         "cpu_us_per_req": (end_cpu[name] - marks["cpu"][name]) * 1e6 / n}
                  for name, pids in groups.items()},
    }
    print(json.dumps(result))


main()
