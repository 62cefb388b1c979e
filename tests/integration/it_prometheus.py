#!/usr/bin/python3
"""it_prometheus.py BUILD_DIR: a real Prometheus server (Debian's prometheus) scrapes a running
aggregator and the mock fleet every second; through its HTTP API (/api/v1/query) the per-feature
call counters must come to equal the calls this test made, and the mocks' own counts.

The calls: 20 aggregates over every feature, 5 of them (one in four) with tours failing
(UNAVAILABLE) and 3 with offers answering garbage (MALFORMED_RESPONSE). Prometheus gets a temporary storage directory and a
free loopback port; every process is killed at the end.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from fanout_stack import FEATURES, Stack  # noqa: E402

CALLS, TOURS_FAILED, OFFERS_MALFORMED = 20, 5, 3
failures = 0


def check(cond, what):
    global failures
    print(("PASS " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(port, expr):
    """{label-tuple: value} of an instant query."""
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in body["data"]["result"]}


def expected():
    """{(feature, kind): calls} the aggregator must report, and {(feature, outcome): calls} the mocks."""
    agg, mock = {}, {}
    for f in FEATURES:
        agg[(f, "OK")] = CALLS
        mock[(f, "ok")] = CALLS
    agg[("tours", "OK")] -= TOURS_FAILED
    agg[("tours", "UNAVAILABLE")] = TOURS_FAILED
    mock[("tours", "ok")] -= TOURS_FAILED
    mock[("tours", "error")] = TOURS_FAILED
    agg[("offers", "OK")] -= OFFERS_MALFORMED
    agg[("offers", "MALFORMED_RESPONSE")] = OFFERS_MALFORMED
    mock[("offers", "ok")] -= OFFERS_MALFORMED
    mock[("offers", "malformed")] = OFFERS_MALFORMED
    return agg, mock


def run(stack, tmp):
    stack.start_mocks()
    stack.start_aggregator({})
    for i in range(CALLS):
        faults = []
        # Spread out, so that tours' breaker (5 failures in a row by default) stays closed.
        if i % 4 == 0 and i // 4 < TOURS_FAILED:
            faults.append("tours=error:UNAVAILABLE")
        if i < OFFERS_MALFORMED:
            faults.append("offers=malformed")
        stack.cli(check=0, metadata=",".join(faults) or None)

    port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                "  - job_name: aggregator\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                "  - job_name: mocks\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                % (stack.agg["admin"], stack.mocks["admin"]))
    stack._start("prometheus", ["prometheus", "--config.file=" + config,
                                "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                                "--web.listen-address=127.0.0.1:%d" % port])
    agg_want, mock_want = expected()
    agg_got = mock_got = None
    end = time.time() + 45
    while time.time() < end:
        try:
            agg_got = {(dict(k)["feature"], dict(k)["kind"]): v
                       for k, v in query(port, 'sum by (feature, kind) (fanout_feature_calls_total{job="aggregator"}) > 0').items()}
            mock_got = {(dict(k)["feature"], dict(k)["outcome"]): v
                        for k, v in query(port, 'sum by (feature, outcome) (fanout_mock_calls_total{job="mocks"}) > 0').items()}
            if agg_got == agg_want and mock_got == mock_want:
                break
        except (OSError, ValueError):
            pass  # not up yet
        time.sleep(0.5)
    check(agg_got == agg_want, "Prometheus: fanout_feature_calls_total by feature and kind = the calls made")
    if agg_got != agg_want:
        print("  want %s\n  got  %s" % (sorted(agg_want.items()), sorted((agg_got or {}).items())))
    check(mock_got == mock_want, "Prometheus: fanout_mock_calls_total by feature and outcome = the mocks' counts")
    if mock_got != mock_want:
        print("  want %s\n  got  %s" % (sorted(mock_want.items()), sorted((mock_got or {}).items())))
    total = query(port, 'sum(fanout_requests_total{job="aggregator",code="OK"})')
    check(list(total.values()) == [float(CALLS)], "Prometheus: fanout_requests_total{code=\"OK\"} = %d" % CALLS)
    up = query(port, "up")
    check(sorted(up.values()) == [1.0, 1.0], "Prometheus: both targets are up")
    made = query(port, 'sum by (feature) (fanout_feature_calls_total{job="aggregator",kind!="CIRCUIT_OPEN"})')
    seen = query(port, 'sum by (feature) (fanout_mock_calls_total{job="mocks"})')
    check({dict(k)["feature"]: v for k, v in made.items()} == {dict(k)["feature"]: v for k, v in seen.items()},
          "Prometheus: per feature, the aggregator's calls = the calls its mock counted")


def main():
    build = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(build, tmp)
        try:
            run(stack, tmp)
        except Exception as e:  # noqa: BLE001 - a failed step must still report and clean up
            check(False, "the test ran to its end (%s: %s)" % (type(e).__name__, e))
        finally:
            stack.close()
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
