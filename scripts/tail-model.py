#!/usr/bin/env python3
"""What hedging can do at best on a fleet: a model to set bench.sh's tail case against.

Each feature of the fleet file answers after a lognormal time (median p50, 99th percentile p99,
as mock_services draws it). Without hedging an aggregate takes the slowest of its features; with
an ideal hedge a feature that has not answered by its true q-quantile gets a second, independent
call, and answers with whichever comes first. No timer, queue or CPU costs anything. Prints, for
each quantile, the aggregate's p99 and p99.9 with hedging over those without, and the extra calls
as a share of first calls: the bound a real hedge on that fleet can approach but not pass.

  scripts/tail-model.py [--fleet mock_services/fleet.json] [--aggregates 200000] [--quantiles 0.95,0.94]
"""
import argparse
import json
import math
import random
from statistics import NormalDist

Z99 = NormalDist().inv_cdf(0.99)


def quantile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fleet", default="mock_services/fleet.json")
    ap.add_argument("--aggregates", type=int, default=200000)
    ap.add_argument("--quantiles", default="0.95,0.94")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    features = []
    for f in json.load(open(a.fleet))["features"]:
        lat = f["profile"]["latency_ms"]
        features.append((math.log(lat["p50"]), math.log(lat["p99"] / lat["p50"]) / Z99))
    rnd = random.Random(a.seed)
    draws = [[(rnd.lognormvariate(mu, s), rnd.lognormvariate(mu, s)) for mu, s in features]
             for _ in range(a.aggregates)]
    off = sorted(max(x1 for x1, _ in agg) for agg in draws)
    print(f"{a.fleet}, {a.aggregates} aggregates of {len(features)} features: without hedging "
          f"p99 {quantile(off, 0.99):.1f} ms, p99.9 {quantile(off, 0.999):.1f} ms")
    for q in (float(v) for v in a.quantiles.split(",")):
        delays = [math.exp(mu + s * NormalDist().inv_cdf(q)) for mu, s in features]
        extra = 0
        on = []
        for agg in draws:
            slowest = 0.0
            for (x1, x2), d in zip(agg, delays):
                if x1 > d:
                    extra += 1
                    x1 = min(x1, d + x2)
                slowest = max(slowest, x1)
            on.append(slowest)
        on.sort()
        print(f"ideal hedge at each feature's p{q * 100:g}: p99 {quantile(on, 0.99):.1f} ms "
              f"(x{quantile(on, 0.99) / quantile(off, 0.99):.2f}), p99.9 {quantile(on, 0.999):.1f} ms "
              f"(x{quantile(on, 0.999) / quantile(off, 0.999):.2f}), extra calls "
              f"{100 * extra / (len(features) * a.aggregates):.1f}% of first calls")


if __name__ == "__main__":
    main()
