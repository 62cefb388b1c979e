"""fanout_stack: the one-process mock fleet and an aggregator as real processes on loopback, with
their admin listeners, for the Python integration tests (metrics, Prometheus).

Every process started here is killed by Stack.close(), which the tests call in a finally block; the
processes are also in their own session, so nothing outlives a test that is itself killed.
"""
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

FEATURES = ["listings", "searches", "saved_searches", "tours", "offers", "messages", "documents",
            "collections", "campaigns", "open_houses", "valuations", "leads"]


class Stack:
    def __init__(self, build, workdir):
        self.build = build
        self.workdir = workdir
        self.procs = []
        self.mocks = None
        self.agg = None

    def _start(self, name, argv, env=None):
        out = open(os.path.join(self.workdir, name + ".out"), "w+")
        err = open(os.path.join(self.workdir, name + ".err"), "w+")
        p = subprocess.Popen(argv, stdout=out, stderr=err, env=env, start_new_session=True)
        p.out_path, p.err_path = out.name, err.name
        self.procs.append(p)
        return p

    def _first_line(self, p, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            with open(p.out_path) as f:
                line = f.readline()
            if line.endswith("\n"):
                return json.loads(line)
            if p.poll() is not None:
                raise RuntimeError("%s exited with %d: %s" % (p.args[0], p.returncode, open(p.err_path).read()))
            time.sleep(0.05)
        raise RuntimeError("%s printed no first line in %d s" % (p.args[0], timeout))

    def start_mocks(self):
        fleet = {"features": [{"name": n, "listen": "127.0.0.1:0"} for n in FEATURES]}
        path = os.path.join(self.workdir, "fleet.json")
        with open(path, "w") as f:
            json.dump(fleet, f)
        p = self._start("mocks", [os.path.join(self.build, "mock_services", "mock_services"), "--fleet", path,
                                  "--one-process", "--admin-listen", "127.0.0.1:0"])
        line = self._first_line(p)
        self.mocks = {"proc": p, "features": line["features"], "admin": line["admin_port"]}
        return self.mocks

    def start_aggregator(self, config, env_admin=False):
        """config: the keys to write; features default to every mock, timeout 1000 ms."""
        cfg = {"listen": "127.0.0.1:0", "workers": 2, "forward_metadata": ["x-mock-fault"]}
        cfg.update(config)
        if "features" not in cfg:
            cfg["features"] = [{"name": n, "target": self.mocks["features"][n]["address"], "timeout_ms": 1000}
                               for n in FEATURES]
        env = dict(os.environ)
        if env_admin:
            env["FANOUT_ADMIN_LISTEN"] = "127.0.0.1:0"
        else:
            cfg.setdefault("admin_listen", "127.0.0.1:0")
        path = os.path.join(self.workdir, "aggregator.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        p = self._start("aggregator", [os.path.join(self.build, "aggregator", "aggregator"), "--config", path],
                        env=env)
        line = self._first_line(p)
        self.agg = {"proc": p, "address": line["address"], "admin": line["admin_port"]}
        return self.agg

    def cli(self, *args, metadata=None, check=None):
        """One fanout-cli query to the aggregator; returns (exit code, stdout, stderr)."""
        argv = [os.path.join(self.build, "cli", "fanout-cli"), "query", "--addr", self.agg["address"],
                "--customer", "c-42", *args]
        if metadata:
            argv += ["--metadata", "x-mock-fault=" + metadata]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if check is not None and r.returncode != check:
            raise AssertionError("fanout-cli %s: exit %d, %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r.returncode, r.stdout, r.stderr

    def cli_background(self, *args, metadata=None):
        argv = [os.path.join(self.build, "cli", "fanout-cli"), "query", "--addr", self.agg["address"],
                "--customer", "c-42", *args]
        if metadata:
            argv += ["--metadata", "x-mock-fault=" + metadata]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            p.wait()


def http_get(port, path):
    """(status, headers, body) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_metrics(text):
    """{(name, ((label, value), ...)): float} of a text exposition; raises on a line it cannot read."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise ValueError("unreadable sample line: %r" % line)
        labels = []
        if m.group(2):
            rest = m.group(2)
            pos = 0
            while pos < len(rest):
                lm = LABEL.match(rest, pos)
                if lm is None:
                    raise ValueError("unreadable labels: %r" % line)
                value = re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), lm.group(2))
                labels.append((lm.group(1), value))
                pos = lm.end()
        samples[(m.group(1), tuple(sorted(labels)))] = float(m.group(3))
    return samples


def scrape(port):
    status, headers, body = http_get(port, "/metrics")
    assert status == 200, status
    return parse_metrics(body)


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))
