#!/usr/bin/env python3
"""The file-descriptor flood (issue #25): the aggregator runs with a soft and hard
open-files limit of 1,024 while 1,500 idle TCP connections are opened and held
for 15 s, then closed.

Asserts: the aggregator logs the limits it runs under; during the hold a client
is either served or refused at once, never left hanging past its deadline; the
refusals are logged; once the idle connections are gone a new client is served
within 12 s (gRPC 1.51's listener alone stops accepting for good after one
EMFILE); the aggregator is still running at the end.

    flood_files.py BUILD_DIR
"""
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

IDLE = 1500
HOLD_S = 15
LIMIT = 1024
DEADLINE_S = 5.0
# A refusal comes before the deadline (a call left hanging would end DEADLINE_EXCEEDED at it); the
# margin is for the client process itself starting on a loaded machine under a sanitizer.
REFUSED_WITHIN_S = 4.0
SERVED_AFTER_S = 12.0


def fail(msg):
    print("it_flood_files: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def first_line(proc, path, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with open(path) as f:
            line = f.readline()
        if line.endswith("}\n"):
            return json.loads(line)
        if proc.poll() is not None:
            fail("%s exited: %s" % (proc.args[0], open(path).read()))
        time.sleep(0.1)
    fail("%s did not start" % proc.args[0])


def query(cli, addr, timeout_s):
    """(outcome, seconds): outcome "ok" or the status the CLI printed."""
    start = time.monotonic()
    p = subprocess.run([cli, "query", "--addr", addr, "--customer", "c-42", "--format", "summary",
                        "--timeout", "%dms" % int(timeout_s * 1000)],
                       capture_output=True, text=True, timeout=timeout_s + 10)
    took = time.monotonic() - start
    if p.returncode == 0:
        return "ok", took
    return (p.stderr.strip().split(":")[1].strip() if "ERROR:" in p.stderr else p.stderr.strip()), took


def main():
    build = sys.argv[1]
    agg_bin = os.path.join(build, "aggregator/aggregator")
    mock_bin = os.path.join(build, "mock_services/mock_services")
    cli = os.path.join(build, "cli/fanout-cli")
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # This process holds the idle connections: it needs more than 1,024 descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < IDLE + 100:
        print("it_flood_files: SKIP: the hard open-files limit (%d) is under %d" % (hard, IDLE + 100))
        sys.exit(77)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = tempfile.mkdtemp(prefix="fanout-flood-files.")
    procs = []
    try:
        fleet_log = os.path.join(work, "fleet.log")
        fleet = subprocess.Popen([mock_bin, "--fleet", os.path.join(src, "mock_services/fleet-fast.json"),
                                  "--one-process"], stdout=open(fleet_log, "w"), stderr=subprocess.STDOUT)
        procs.append(fleet)
        features = first_line(fleet, fleet_log)["features"]
        config = {"listen": "127.0.0.1:0", "workers": 1,
                  "features": [{"name": n, "target": f["address"], "timeout_ms": 2000} for n, f in features.items()]}
        with open(os.path.join(work, "agg.json"), "w") as f:
            json.dump(config, f)
        agg_log = os.path.join(work, "agg.log")
        agg = subprocess.Popen(["prlimit", "--nofile=%d:%d" % (LIMIT, LIMIT), "--", agg_bin, "--config",
                                os.path.join(work, "agg.json")], stdout=open(agg_log, "w"), stderr=subprocess.STDOUT)
        procs.append(agg)
        addr = first_line(agg, agg_log)["address"]
        host, port = addr.rsplit(":", 1)
        outcome, _ = query(cli, addr, DEADLINE_S)
        if outcome != "ok":
            fail("the aggregator does not answer before the flood: " + outcome)

        idle = []
        for _ in range(IDLE):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, int(port)))
            idle.append(s)
        held_until = time.monotonic() + HOLD_S
        seen = {}
        while time.monotonic() < held_until:
            outcome, took = query(cli, addr, DEADLINE_S)
            seen[outcome] = seen.get(outcome, 0) + 1
            print("%.1f %s %.2f" % (HOLD_S - (held_until - time.monotonic()), outcome, took), file=sys.stderr)
            if took > DEADLINE_S + 1.0:
                fail("during the hold a call took %.2f s, past its %.1f s deadline (%s)" % (took, DEADLINE_S, outcome))
            if outcome not in ("ok", "UNAVAILABLE"):
                fail("during the hold a call ended %s: neither served nor refused" % outcome)
            if outcome == "UNAVAILABLE" and took > REFUSED_WITHIN_S:
                fail("a refusal took %.2f s: not at once" % took)
            time.sleep(0.5)
        for s in idle:
            s.close()
        closed = time.monotonic()
        while True:
            outcome, took = query(cli, addr, DEADLINE_S)
            if outcome == "ok":
                break
            if time.monotonic() - closed > SERVED_AFTER_S:
                fail("no client served within %.0f s of the idle connections closing (last: %s)" %
                     (SERVED_AFTER_S, outcome))
            time.sleep(0.2)
        served_after = time.monotonic() - closed
        if agg.poll() is not None:
            fail("the aggregator exited")
        lines = [json.loads(l) for l in open(agg_log) if l.startswith("{")]
        limits = [l for l in lines if l.get("event") == "limits"]
        if not limits or limits[0]["nofile_soft"] != LIMIT or limits[0]["nofile_hard"] != LIMIT:
            fail("no limits line with nofile_soft and nofile_hard %d: %s" % (LIMIT, limits))
        if limits[0]["max_connections"] >= LIMIT:
            fail("max_connections %d is not under the open-files limit" % limits[0]["max_connections"])
        refused = [l for l in lines if l.get("event") == "connection_refused"]
        if not refused:
            fail("1,500 connections against a cap of %d and no connection_refused line" % limits[0]["max_connections"])
        print(json.dumps({"test": "it_flood_files", "during_hold": seen, "served_after_close_s": round(served_after, 2),
                          "max_connections": limits[0]["max_connections"], "refused_logged": refused[-1]["refused"]}))
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
