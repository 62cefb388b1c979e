#!/usr/bin/python3
"""it_metrics.py BUILD_DIR: the admin listeners and the metrics of the aggregator and of the mocks,
checked against real processes.

A one-process mock fleet and an aggregator (both with admin listeners on picked ports) take calls
from fanout-cli: success on both methods, every failure kind (x-mock-fault), FAIL_FAST, an unknown
feature, a validation refusal, the max_in_flight refusal, a breaker opening; on a second
aggregator with auth, the UNAUTHENTICATED and PERMISSION_DENIED refusals; and a --fleet of child
processes, each with its own admin listener; a feature added by a reload (SIGHUP). After each step every
counter of both /metrics is compared with the step's expected increments, exactly: the series named
move by what they should and no other series moves. Then `promtool check metrics` on live scrapes
of both, /healthz and /readyz, /readyz 503 while the aggregator drains, and FANOUT_ADMIN_LISTEN.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from fanout_stack import FEATURES, Stack, http_get, key, scrape  # noqa: E402

COUNTED = {"fanout_requests_total", "fanout_requests_refused_total", "fanout_feature_calls_total",
           "fanout_unknown_feature_requests_total", "fanout_feature_extra_attempts_total",
           "fanout_feature_hedges_held_total",
           "fanout_request_duration_seconds_count", "fanout_feature_call_duration_seconds_count",
           "fanout_mock_calls_total", "fanout_mock_faults_total"}
failures = 0


def check(cond, what):
    global failures
    print(("PASS " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1


def delta(before, after):
    d = {}
    for k, v in after.items():
        if k[0] in COUNTED and v != before.get(k, 0.0):
            d[k] = v - before.get(k, 0.0)
    return d


def expect_moves(name, stack, before_agg, before_mock, agg_expected, mock_expected):
    """Waits up to 5 s for the mocks (they count a cancellation when they see it), then compares."""
    end = time.time() + 5
    while True:
        got_agg = delta(before_agg, scrape(stack.agg["admin"]))
        got_mock = delta(before_mock, scrape(stack.mocks["admin"]))
        if (got_agg == agg_expected and got_mock == mock_expected) or time.time() > end:
            break
        time.sleep(0.1)
    check(got_agg == agg_expected, "%s: aggregator counters moved exactly as expected" % name)
    if got_agg != agg_expected:
        print("  expected %s\n  got      %s" % (sorted(agg_expected.items()), sorted(got_agg.items())))
    check(got_mock == mock_expected, "%s: mock counters moved exactly as expected" % name)
    if got_mock != mock_expected:
        print("  expected %s\n  got      %s" % (sorted(mock_expected.items()), sorted(got_mock.items())))


def req(method="GetCustomerAnalytics", policy="ALLOW_PARTIAL", code="OK"):
    return {key("fanout_requests_total", method=method, policy=policy, code=code): 1,
            key("fanout_request_duration_seconds_count", method=method): 1}


def feat(name, kind, called=True, n=1):
    d = {key("fanout_feature_calls_total", feature=name, kind=kind): n}
    if called:
        d[key("fanout_feature_call_duration_seconds_count", feature=name)] = n
    return d


def mock(name, outcome, fault=None, n=1):
    """outcome "": the fault only (a call with two faults counts its outcome once)."""
    d = {key("fanout_mock_calls_total", feature=name, outcome=outcome): n} if outcome else {}
    if fault:
        d[key("fanout_mock_faults_total", feature=name, fault=fault)] = n
    return d


def merge(*ds):
    out = {}
    for d in ds:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def step(stack, name, action, agg_expected, mock_expected):
    ba, bm = scrape(stack.agg["admin"]), scrape(stack.mocks["admin"])
    action()
    expect_moves(name, stack, ba, bm, agg_expected, mock_expected)


def promtool_check(port, what):
    status, _, body = http_get(port, "/metrics")
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True)
    check(status == 200 and r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "",
          "promtool check metrics on a live scrape of the %s" % what)
    if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
        print(r.stdout, r.stderr)


def run(stack):
    stack.start_mocks()
    features = [{"name": n, "target": stack.mocks["features"][n]["address"], "timeout_ms": 1000, "breaker": False}
                for n in FEATURES]
    by_name = {f["name"]: f for f in features}
    by_name["messages"]["timeout_ms"] = 300
    by_name["campaigns"]["timeout_ms"] = 4000
    by_name["tours"]["breaker"] = {"consecutive_failures": 3, "open_ms": 60000, "max_open_ms": 60000,
                                   "min_calls": 1000}
    stack.start_aggregator({"features": features, "max_in_flight": 3, "shutdown_grace_ms": 5000})
    agg, mocks = stack.agg["admin"], stack.mocks["admin"]

    for port, what in ((agg, "aggregator"), (mocks, "mocks")):
        check(http_get(port, "/healthz")[0] == 200, "%s /healthz is 200" % what)
        check(http_get(port, "/readyz")[0] == 200, "%s /readyz is 200 while serving" % what)
        check(http_get(port, "/nope")[0] == 404, "%s: an unknown path is 404" % what)
    status, headers, _ = http_get(agg, "/metrics")
    check(headers.get("Content-Type") == "text/plain; version=0.0.4; charset=utf-8",
          "/metrics has the text format's content type")
    first = scrape(agg)
    check(first.get(key("fanout_max_in_flight")) == 3.0, "fanout_max_in_flight is the config's limit")
    check(first.get(key("fanout_workers")) == 2.0, "fanout_workers is the config's workers")
    check(first.get(key("fanout_requests_in_flight")) == 0.0, "nothing in flight at rest")
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds"):
        check(first.get(key(name), 0) > 0, "%s is there and positive" % name)
    check(abs(first[key("process_start_time_seconds")] - time.time()) < 120, "process_start_time_seconds is now-ish")
    check(first.get(key("fanout_feature_breaker_state", feature="tours", state="closed")) == 1.0,
          "the tours breaker is closed")
    check(key("fanout_feature_breaker_state", feature="listings", state="closed") not in first,
          "a feature without a breaker has no breaker series")
    # Warm the channels up, so that timed steps do not pay for connecting.
    stack.cli(check=0)

    step(stack, "success", lambda: stack.cli("--features", "listings,searches", check=0),
         merge(req(), feat("listings", "OK"), feat("searches", "OK")),
         merge(mock("listings", "ok"), mock("searches", "ok")))
    step(stack, "stream", lambda: stack.cli("--stream", "--features", "listings", check=0),
         merge(req("StreamCustomerAnalytics"), feat("listings", "OK")), mock("listings", "ok"))
    step(stack, "every failure kind",
         lambda: stack.cli("--features", "tours,offers,documents,messages", check=0,
                           metadata="tours=error:UNAVAILABLE,offers=error:INTERNAL,documents=malformed,messages=hang"),
         merge(req(), feat("tours", "UNAVAILABLE"), feat("offers", "BACKEND_ERROR"),
               feat("documents", "MALFORMED_RESPONSE"), feat("messages", "DEADLINE")),
         merge(mock("tours", "error", "error"), mock("offers", "error", "error"),
               mock("documents", "malformed", "malformed"), mock("messages", "cancelled", "hang")))
    # valuations fails after 300 ms, so that leads' mock has read its request before the cancel
    # (a call cancelled before its request arrives is "invalid" to the mock).
    step(stack, "FAIL_FAST",
         lambda: stack.cli("--fail-fast", "--features", "valuations,leads", check=1,
                           metadata="valuations=delay:300ms,valuations=error:UNAVAILABLE,leads=delay:2s"),
         merge(req(policy="FAIL_FAST", code="UNAVAILABLE"), feat("valuations", "UNAVAILABLE"),
               feat("leads", "CANCELLED")),
         merge(mock("valuations", "error", "error"), mock("valuations", "", "delay"), mock("leads", "cancelled", "delay")))
    step(stack, "unknown feature", lambda: stack.cli("--features", "listings,nosuch", check=0),
         merge(req(), feat("listings", "OK"), {key("fanout_unknown_feature_requests_total"): 1}),
         mock("listings", "ok"))
    step(stack, "validation refusal", lambda: stack.cli("--features", "listings,listings", check=1),
         merge(req(policy="UNSPECIFIED", code="INVALID_ARGUMENT"),
               {key("fanout_requests_refused_total", reason="invalid_request"): 1}), {})

    # max_in_flight 3: three calls held by a hanging feature, then a fourth is refused.
    ba, bm = scrape(agg), scrape(mocks)
    held = [stack.cli_background("--features", "campaigns", metadata="campaigns=hang") for _ in range(3)]
    end = time.time() + 10
    while scrape(agg)[key("fanout_requests_in_flight")] < 3 and time.time() < end:
        time.sleep(0.05)
    check(scrape(agg)[key("fanout_requests_in_flight")] == 3.0, "fanout_requests_in_flight shows the 3 held calls")
    code, _, err = stack.cli("--features", "listings")
    check(code == 1 and "RESOURCE_EXHAUSTED" in err, "a fourth call is refused with RESOURCE_EXHAUSTED")
    for p in held:
        p.wait(timeout=30)
    expect_moves("max_in_flight refusal", stack, ba, bm,
                 merge(req(code="RESOURCE_EXHAUSTED", policy="UNSPECIFIED"),
                       {key("fanout_requests_refused_total", reason="max_in_flight"): 1},
                       req(), req(), req(), feat("campaigns", "DEADLINE", n=3)),
                 mock("campaigns", "cancelled", "hang", n=3))
    h = scrape(agg)

    def bucket(samples, le):
        return samples[key("fanout_feature_call_duration_seconds_bucket", feature="campaigns", le=le)]
    check(bucket(h, "2.5") == bucket(ba, "2.5") and bucket(h, "5") == bucket(ba, "5") + 3 and
          bucket(h, "+Inf") == bucket(ba, "+Inf") + 3,
          "the latency histogram puts the three 4 s timeouts between 2.5 and 5 s")
    check(scrape(agg)[key("fanout_requests_in_flight")] == 0.0, "nothing in flight afterwards")

    # The tours breaker (3 consecutive failures) has seen one: two more open it.
    step(stack, "breaker opens",
         lambda: [stack.cli("--features", "tours", check=0, metadata="tours=error:UNAVAILABLE") for _ in range(2)],
         merge(req(), req(), feat("tours", "UNAVAILABLE", n=2)), mock("tours", "error", "error", n=2))
    s = scrape(agg)
    check(s[key("fanout_feature_breaker_state", feature="tours", state="open")] == 1.0 and
          s[key("fanout_feature_breaker_state", feature="tours", state="closed")] == 0.0,
          "fanout_feature_breaker_state shows tours open")
    step(stack, "breaker refuses", lambda: stack.cli("--features", "tours", check=0),
         merge(req(), feat("tours", "CIRCUIT_OPEN", called=False)), {})

    promtool_check(agg, "aggregator")
    promtool_check(mocks, "mocks")

    # Every call made reached its mock: the aggregator's calls per feature equal the mocks' counts.
    a, m = scrape(agg), scrape(mocks)
    for f in FEATURES:
        made = sum(v for k, v in a.items() if k[0] == "fanout_feature_calls_total" and ("feature", f) in k[1]
                   and ("kind", "CIRCUIT_OPEN") not in k[1])
        seen = sum(v for k, v in m.items() if k[0] == "fanout_mock_calls_total" and ("feature", f) in k[1])
        check(made == seen, "%s: %d calls made by the aggregator, %d counted by the mock" % (f, made, seen))

    # Draining: /readyz turns 503 at once while a held call keeps the aggregator up; /healthz stays 200.
    held = stack.cli_background("--features", "campaigns", metadata="campaigns=delay:1500ms")
    end = time.time() + 10
    while scrape(agg)[key("fanout_requests_in_flight")] < 1 and time.time() < end:
        time.sleep(0.02)
    check(scrape(agg)[key("fanout_requests_in_flight")] == 1.0, "the held call is in flight before SIGTERM")
    stack.agg["proc"].send_signal(signal.SIGTERM)
    end = time.time() + 3
    while http_get(agg, "/readyz")[0] != 503 and time.time() < end:
        time.sleep(0.05)
    check(http_get(agg, "/readyz")[0] == 503, "/readyz is 503 while draining")
    check(http_get(agg, "/healthz")[0] == 200, "/healthz is still 200 while draining")
    check(held.wait(timeout=30) == 0, "the call in flight finished during the drain")
    check(stack.agg["proc"].wait(timeout=30) == 0, "the aggregator exits 0")
    stack.mocks["proc"].send_signal(signal.SIGTERM)
    check(stack.mocks["proc"].wait(timeout=30) == 0, "the mocks exit 0")
    for p, what in ((stack.agg["proc"], "aggregator"), (stack.mocks["proc"], "mocks")):
        err = open(p.err_path).read()
        check("ERROR: AddressSanitizer" not in err and "runtime error" not in err, "%s: no sanitizer report" % what)


def run_env(build):
    """FANOUT_ADMIN_LISTEN turns the listener on without the config key."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(build, tmp)
        try:
            stack.start_mocks()
            stack.start_aggregator({}, env_admin=True)
            check(http_get(stack.agg["admin"], "/readyz")[0] == 200, "FANOUT_ADMIN_LISTEN starts the admin listener")
        finally:
            stack.close()


def run_auth(build):
    """The auth refusals, on an aggregator with tokens required (keys from scripts/gen-jwt-keys.sh)."""
    scripts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(build, tmp)
        try:
            subprocess.run(["sh", os.path.join(scripts, "gen-jwt-keys.sh"), tmp], check=True, capture_output=True)
            token = subprocess.run([sys.executable, os.path.join(scripts, "mint-token.py"), "token", "--key",
                                    os.path.join(tmp, "a.pem"), "--kid", "a", "--customers", "c-42"],
                                   check=True, capture_output=True, text=True).stdout.strip()
            stack.start_mocks()
            stack.start_aggregator({"auth": {"issuer": "https://issuer.example", "audience": "fanout",
                                             "algorithms": ["RS256"], "keys": [os.path.join(tmp, "a.pub.pem")]}})
            step(stack, "no token", lambda: stack.cli("--features", "listings", check=1),
                 merge(req(policy="UNSPECIFIED", code="UNAUTHENTICATED"),
                       {key("fanout_requests_refused_total", reason="unauthenticated"): 1}), {})
            step(stack, "another customer's token",
                 lambda: stack.cli("--features", "listings", "--customer", "c-7", "--token", token, check=1),
                 merge(req(code="PERMISSION_DENIED"),
                       {key("fanout_requests_refused_total", reason="permission_denied"): 1}), {})
            step(stack, "a good token", lambda: stack.cli("--features", "listings", "--token", token, check=0),
                 merge(req(), feat("listings", "OK")), mock("listings", "ok"))
        finally:
            stack.close()


def run_reload(build):
    """A feature a SIGHUP adds gets its series at once, counted and scraped like the others."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(build, tmp)
        try:
            stack.start_mocks()

            def feature(n):
                return {"name": n, "target": stack.mocks["features"][n]["address"], "timeout_ms": 1000}
            agg = stack.start_aggregator({"features": [feature("listings")], "http_listen": "127.0.0.1:0"})
            http_port = int(stack._first_line(agg["proc"])["http_address"].rsplit(":", 1)[1])

            def listed():
                return json.loads(http_get(http_port, "/v1/features")[2])["features"]
            check(key("fanout_feature_calls_total", feature="leads", kind="OK") not in scrape(agg["admin"]),
                  "reload: no series for leads before it is configured")
            check(listed() == ["listings"], "reload: GET /v1/features lists the one feature configured")
            path = os.path.join(tmp, "aggregator.json")
            with open(path) as f:
                cfg = json.load(f)
            cfg["features"].append(feature("leads"))
            with open(path, "w") as f:
                json.dump(cfg, f)
            agg["proc"].send_signal(signal.SIGHUP)
            end = time.time() + 10
            while '"config_reloaded"' not in open(agg["proc"].out_path).read() and time.time() < end:
                time.sleep(0.05)
            check('"config_reloaded"' in open(agg["proc"].out_path).read(), "reload: the aggregator logged it")
            check(listed() == ["listings", "leads"], "reload: GET /v1/features lists the feature added")
            step(stack, "a feature added by reload", lambda: stack.cli("--features", "leads,listings", check=0),
                 merge(req(), feat("leads", "OK"), feat("listings", "OK")),
                 merge(mock("leads", "ok"), mock("listings", "ok")))
            s = scrape(agg["admin"])
            check(s.get(key("fanout_feature_call_duration_seconds_count", feature="leads")) == 1.0,
                  "reload: leads' latency histogram has its call")
            promtool_check(agg["admin"], "aggregator after a reload")
        finally:
            stack.close()


def run_fleet_of_processes(build):
    """--fleet without --one-process: each child its own admin listener, its port in the fleet line."""
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(build, tmp)
        try:
            path = os.path.join(tmp, "fleet.json")
            with open(path, "w") as f:
                json.dump({"features": [{"name": "listings", "listen": "127.0.0.1:0"},
                                        {"name": "tours", "listen": "127.0.0.1:0"}]}, f)
            p = stack._start("fleet", [os.path.join(build, "mock_services", "mock_services"), "--fleet", path,
                                       "--admin-listen", "127.0.0.1:0"])
            line = stack._first_line(p)
            ports = {name: f.get("admin_port") for name, f in line["features"].items()}
            check(all(isinstance(v, int) and v > 0 for v in ports.values()) and len(set(ports.values())) == 2,
                  "--fleet: each child's admin_port is in the fleet line, one per child")
            for name, port in ports.items():
                other = "tours" if name == "listings" else "listings"
                s = scrape(port)
                check(key("fanout_mock_calls_total", feature=name, outcome="ok") in s and
                      key("fanout_mock_calls_total", feature=other, outcome="ok") not in s,
                      "--fleet: %s's /metrics has its own feature's series only" % name)
                check(http_get(port, "/readyz")[0] == 200, "--fleet: %s's /readyz is 200" % name)
            p.send_signal(signal.SIGTERM)
            check(p.wait(timeout=30) == 0, "--fleet: exits 0 on SIGTERM")
        finally:
            stack.close()


def run_hedges_held(build):
    """Adaptive hedges that never win are held back, and fanout_feature_hedges_held_total counts them."""
    calls = 40
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(build, tmp)
        try:
            stack.start_mocks()
            # One worker (each learns on its own); tours takes 20 ms and is hedged after 5 ms: every hedge loses.
            agg = stack.start_aggregator({"workers": 1, "hedge": {"quantile": 0.5, "min_ms": 1, "max_ms": 5,
                                                                  "max_attempts": 2}})
            for _ in range(calls):
                stack.cli("--features", "tours", metadata="tours=delay:20ms", check=0)
            s = scrape(agg["admin"])
            hedges = s.get(key("fanout_feature_extra_attempts_total", feature="tours", reason="hedge"), 0)
            held = s.get(key("fanout_feature_hedges_held_total", feature="tours"), 0)
            # 16 hedges to learn that they lose, then 7 held back for each probe that goes.
            check(16 <= hedges <= 16 + (calls - 16) // 8 + 1 and held >= 14,
                  "hedges that never win: %d sent, %d held back (fanout_feature_hedges_held_total)" % (hedges, held))
            check(key("fanout_feature_hedges_held_total", feature="listings") in s and
                  s[key("fanout_feature_hedges_held_total", feature="listings")] == 0,
                  "a feature whose hedges were never held back has its series at 0")
        finally:
            stack.close()


def main():
    build = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(build, tmp)
        try:
            run(stack)
        except Exception as e:  # noqa: BLE001 - a failed step must still report and clean up
            check(False, "the test ran to its end (%s: %s)" % (type(e).__name__, e))
        finally:
            stack.close()
    run_env(build)
    run_auth(build)
    run_reload(build)
    run_fleet_of_processes(build)
    run_hedges_held(build)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
