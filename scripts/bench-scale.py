#!/usr/bin/env python3
"""bench-scale: how the aggregator scales with workers, on a machine with cores to spare.

Lays the processes out on disjoint CPUs, so that the aggregator is measured
and not its neighbours: the aggregator on the first half of the CPUs (4 of
them for up to 4 workers, as many as workers beyond), the twelve mock feature
services (one process each, no delay) on the next ones, and fanout-bench load
generators, one per CPU, on the last ones. Every case runs against the same
fleet; cases are interleaved over --reps repetitions. For each: aggregates/s
(the load generators together), p50 and p99 (the median of their p50s and the
worst of their p99s), the aggregator's CPU per aggregate and CPUs busy, how
often its threads went to sleep per aggregate (each sleep a wait for work
another thread hands over), and the speed-up and CPU ratio against one worker of the same binary and engine.

  scripts/bench-scale.py [--bin DIR | --bin LABEL=DIR ...] [--workers 1,2,4,8]
                         [--processes 4] [--engines default[,poll]] [-c 128]
                         [--connections 64] [--duration 4] [--warmup 1] [--reps 2]
                         [--loader LD_SO --libs DIR] [--json FILE] [--shared-cpus]

--bin        the folder holding aggregator, mock_services and fanout-bench (default:
             build's); several, labelled, compare builds in one run (the fleet and load
             generators come from the first)
--processes  also N aggregator processes of one worker each on the same CPUs, each
             with its own port and its share of the load generators: the shared-nothing
             reference
--engines    values of GRPC_POLL_STRATEGY to run each case under; "default" leaves it
             unset (gRPC's epoll1); the table shows the engine each case ran on
--shared-cpus  every process on every CPU, for a smoke run on a small machine (its
             figures say nothing about scaling)
--loader     run every binary through this dynamic loader with --library-path --libs
             (for a machine without the Debian packages: carry binaries and libraries)
Needs at least 8 CPUs. Prints a table; --json writes one JSON line per case and rep.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEATURES = [f["name"] for f in json.load(open(os.path.join(ROOT, "mock_services", "fleet.json")))["features"]]
TICK = os.sysconf("SC_CLK_TCK")
# Where each binary is in a build tree; a flat folder of carried binaries works too.
IN_BUILD = {"aggregator": "aggregator", "mock_services": "mock_services", "fanout-bench": "bench"}


def binary(bindir, name):
    flat = os.path.join(bindir, name)
    return flat if os.path.isfile(flat) else os.path.join(bindir, IN_BUILD[name], name)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", action="append", default=[])
    p.add_argument("--workers", default="1,2,4,8")
    p.add_argument("--processes", type=int, default=0)
    p.add_argument("--engines", default="default")
    p.add_argument("-c", dest="concurrency", type=int, default=128)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=float, default=4.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--loader")
    p.add_argument("--libs")
    p.add_argument("--json")
    p.add_argument("--shared-cpus", action="store_true")
    a = p.parse_args()
    if not a.bin:
        a.bin = ["build=" + os.path.join(ROOT, "build")]
    a.bins = []
    for b in a.bin:
        label, _, path = b.rpartition("=")
        a.bins.append((label or os.path.basename(os.path.normpath(path)), path))
    a.workers = [int(w) for w in a.workers.split(",")]
    a.engines = a.engines.split(",")
    return a


class Procs:
    """Every process this script starts, stopped at the end whatever happens."""

    def __init__(self, loader, libs):
        self.prefix = [loader, "--library-path", libs] if loader else []
        self.all = []

    def start(self, cpus, binary, args, env=None):
        """binary with args, pinned to the CPUs in the list cpus (its threads inherit the mask)."""
        p = subprocess.Popen(self.prefix + [binary] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=env, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        self.all.append(p)
        return p

    def first_line(self, p):
        line = p.stdout.readline()
        if not line:
            sys.exit(f"bench-scale: {p.args} exited before it listened")
        return json.loads(line)

    def stop(self, p, timeout=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.all.remove(p)

    def stop_all(self):
        for p in list(self.all):
            self.stop(p)


def cpu_list(cpus):
    return ",".join(str(c) for c in cpus)


def layout(max_agg, shared):
    cpus = sorted(os.sched_getaffinity(0))
    if shared:
        return cpus, cpus, cpus
    if len(cpus) < 8:
        sys.exit(f"bench-scale: needs at least 8 CPUs, has {len(cpus)}")
    half = max(max_agg, len(cpus) // 2)
    nload = max(1, len(cpus) * 3 // 16)
    agg, fleet, load = cpus[:half], cpus[half : len(cpus) - nload], cpus[len(cpus) - nload :]
    if len(fleet) < 2:
        sys.exit("bench-scale: too few CPUs left for the fleet")
    return agg, fleet, load


def siblings(cpu):
    """The CPUs sharing cpu's core (SMT), cpu included; just cpu when the kernel does not say."""
    try:
        with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list") as f:
            text = f.read().strip()
    except OSError:
        return {cpu}
    cpus = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def describe_machine(lay):
    """The processor and whether the aggregator's CPUs share cores with the fleet or the load:
    SMT siblings slow each other, which reads as a cost of more workers."""
    model = "unknown processor"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    agg, others = set(lay[0]), set(lay[1]) | set(lay[2])
    shared = sorted(c for c in agg if (siblings(c) - {c}) & others)
    per_core = max(len(siblings(c)) for c in agg)
    note = (f"aggregator CPUs {cpu_list(shared)} share a core with the fleet or the load" if shared
            else "no aggregator CPU shares a core with the fleet or the load")
    return f"{model}, {per_core} thread(s) per core; {note}"


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def voluntary_switches(pids):
    """How often the processes' threads went to sleep (summed over their threads): each is a
    wait for work, so per aggregate it counts the hand-overs between threads."""
    total = 0
    for pid in pids:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/status") as f:
                    total += next(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches"))
            except OSError:
                pass  # a thread that ended between listing and reading
    return total


def start_fleet(procs, bindir, cpus):
    targets = {}
    for name in FEATURES:
        p = procs.start(cpus, binary(bindir, "mock_services"),
                        ["--feature", name, "--listen", "127.0.0.1:0", "--workers", "1"])
        targets[name] = procs.first_line(p)["address"]
    return targets


def start_aggregators(procs, a, bindir, targets, workers, nprocs, cpus, engine, tmp):
    config = {"listen": "127.0.0.1:0", "workers": workers, "log_level": "warn", "max_in_flight": 100000,
              "features": [{"name": n, "target": t, "timeout_ms": 2000} for n, t in targets.items()]}
    path = os.path.join(tmp, f"agg-{workers}.json")
    with open(path, "w") as f:
        json.dump(config, f)
    env = {k: v for k, v in os.environ.items() if k != "GRPC_POLL_STRATEGY"}
    if engine != "default":
        env["GRPC_POLL_STRATEGY"] = engine
    aggs = []
    for _ in range(nprocs):
        p = procs.start(cpus, binary(bindir, "aggregator"), ["--config", path], env=env)
        aggs.append((p, procs.first_line(p)))
    return aggs


def run_load(procs, a, bindir, addrs, load_cpus):
    """Load generators on the load CPUs (at least one per aggregator, at most one per connection);
    their JSON results. Concurrency and connections are shared out as evenly as they divide."""
    n = max(len(addrs), min(len(load_cpus), a.connections))
    gens = []
    for i in range(n):
        c = a.concurrency // n + (i < a.concurrency % n)
        conns = a.connections // n + (i < a.connections % n)
        args = ["--target", addrs[i % len(addrs)], "-c", str(max(1, c)), "--connections", str(max(1, conns)),
                "--warmup", f"{a.warmup}s", "--duration", f"{a.duration}s", "--format", "json",
                "--customers", "1000", "--seed", str(i + 1)]
        gens.append(procs.start([load_cpus[i % len(load_cpus)]], binary(bindir, "fanout-bench"), args))
    return gens


def measure(procs, a, bins0, bindir, targets, workers, nprocs, engine, layout_cpus, tmp):
    agg_cpus, _, load_cpus = layout_cpus
    cpus = agg_cpus[: max(4, workers * nprocs)]
    aggs = start_aggregators(procs, a, bindir, targets, workers, nprocs, cpus, engine, tmp)
    pids = [p.pid for p, _ in aggs]
    gens = run_load(procs, a, bins0, [line["address"] for _, line in aggs], load_cpus)
    time.sleep(a.warmup)
    cpu0, sw0, t0 = cpu_seconds(pids), voluntary_switches(pids), time.monotonic()
    time.sleep(a.duration)
    cpu1, sw1, t1 = cpu_seconds(pids), voluntary_switches(pids), time.monotonic()
    results = []
    for g in gens:
        out, _ = g.communicate(timeout=a.warmup + a.duration + 60)
        procs.all.remove(g)
        results.append(json.loads(out.splitlines()[0]))
    for p, _ in aggs:
        procs.stop(p)
    rps = sum(r["rps"] for r in results)
    failed = sum(r["requests"] - r["ok"] for r in results)
    busy = (cpu1 - cpu0) / (t1 - t0)
    return {
        "workers": workers, "processes": nprocs, "engine": engine, "aggregates_per_s": round(rps, 1),
        "failed": failed, "p50_ms": round(statistics.median(r["latency_us"]["p50"] for r in results) / 1000, 3),
        "p99_ms": round(max(r["latency_us"]["p99"] for r in results) / 1000, 3),
        "cpu_us_per_aggregate": round(busy * 1e6 / rps, 1) if rps else None, "cpus_busy": round(busy, 2),
        "sleeps_per_aggregate": round((sw1 - sw0) / (rps * (t1 - t0)), 2) if rps else None,
        "cpus": cpu_list(cpus), "poll_engine": aggs[0][1].get("poll_engine"),
    }


def main():
    a = parse_args()
    cases = []
    for label, bindir in a.bins:
        for engine in a.engines:
            cases += [(label, bindir, w, 1, engine) for w in a.workers]
            if a.processes:
                cases.append((label, bindir, 1, a.processes, engine))
    lay = layout(max(max(a.workers), a.processes), a.shared_cpus)
    procs = Procs(a.loader, a.libs)
    rows = []
    out = open(a.json, "w") if a.json else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bins0 = a.bins[0][1]
            targets = start_fleet(procs, bins0, lay[1])
            print(f"bench-scale: {len(os.sched_getaffinity(0))} CPUs; aggregator on {cpu_list(lay[0])}, "
                  f"fleet on {cpu_list(lay[1])}, load on {cpu_list(lay[2])}; c={a.concurrency} over "
                  f"{a.connections} connections", flush=True)
            print(f"bench-scale: {describe_machine(lay)}", flush=True)
            for rep in range(a.reps):
                for label, bindir, w, n, engine in cases:
                    r = measure(procs, a, bins0, bindir, targets, w, n, engine, lay, tmp)
                    r.update(binary=label, rep=rep + 1)
                    rows.append(r)
                    print(json.dumps(r), flush=True)
                    if out:
                        print(json.dumps(r), file=out, flush=True)
    finally:
        procs.stop_all()
    print_table(rows)


def print_table(rows):
    def key(r):
        return (r["binary"], r["engine"], r["processes"], r["workers"])

    groups = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    print(f"\n{'binary':<10} {'engine':<14} {'case':<14} {'agg/s':>16} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'us/agg':>14} {'busy':>5} {'sleeps':>6} {'x one':>6} {'cpu x':>6}")
    for k, rs in groups.items():
        base = groups.get((k[0], k[1], 1, 1))
        rps = [r["aggregates_per_s"] for r in rs]
        cpu = [r["cpu_us_per_aggregate"] for r in rs]
        speed = cost = ""
        if base:
            speed = f"{statistics.median(rps) / statistics.median(b['aggregates_per_s'] for b in base):.2f}"
            cost = f"{statistics.median(cpu) / statistics.median(b['cpu_us_per_aggregate'] for b in base):.2f}"
        case = f"{k[2]} procs x 1" if k[2] > 1 else f"workers={k[3]}"
        engine = k[1] if k[1] != "default" else f"default:{rs[0]['poll_engine']}"
        print(f"{k[0]:<10} {engine:<14} {case:<14} {min(rps):>7.0f}-{max(rps):<8.0f} "
              f"{statistics.median(r['p50_ms'] for r in rs):>8.2f} {max(r['p99_ms'] for r in rs):>8.2f} "
              f"{min(cpu):>6.0f}-{max(cpu):<7.0f} {statistics.median(r['cpus_busy'] for r in rs):>5.2f} "
              f"{statistics.median(r['sleeps_per_aggregate'] for r in rs):>6.1f} {speed:>6} {cost:>6}")


if __name__ == "__main__":
    main()
