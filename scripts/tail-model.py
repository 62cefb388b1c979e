#!/usr/bin/env python3
"""What hedging can do at best on a fleet: a model to set bench.sh's tail case against.

Each feature of the fleet file answers after a lognormal time (median p50, 99th percentile p99,
as mock_services draws it). Without hedging an aggregate takes the slowest of its features; with
an ideal hedge a feature that has not answered by its delay (its true q-quantile, at least min_ms)
gets another, independent call, and another after each further delay up to max_attempts calls,
and answers with whichever comes first. No timer, queue, budget or CPU costs anything. Prints, for
each hedge, the aggregate's p99 and p99.9 with hedging over those without, and the extra calls as
a share of first calls: the bound a real hedge on that fleet can approach but not pass.

  scripts/tail-model.py [--fleet mock_services/fleet.json] [--aggregates 200000]
                        [--hedges 0.95:2:2,0.94:2:2,0.93:10:3]   (quantile:min_ms:max_attempts)
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
    ap.add_argument("--hedges", default="0.95:2:2,0.94:2:2,0.93:10:3")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    features = []
    for f in json.load(open(a.fleet))["features"]:
        lat = f["profile"]["latency_ms"]
        features.append((math.log(lat["p50"]), math.log(lat["p99"] / lat["p50"]) / Z99))
    rnd = random.Random(a.seed)
    most = max(int(h.split(":")[2]) for h in a.hedges.split(","))
    draws = [[[rnd.lognormvariate(mu, s) for _ in range(most)] for mu, s in features]
             for _ in range(a.aggregates)]
    off = sorted(max(x[0] for x in agg) for agg in draws)
    print(f"{a.fleet}, {a.aggregates} aggregates of {len(features)} features: without hedging "
          f"p99 {quantile(off, 0.99):.1f} ms, p99.9 {quantile(off, 0.999):.1f} ms")
    for hedge in a.hedges.split(","):
        q, min_ms, attempts = float(hedge.split(":")[0]), float(hedge.split(":")[1]), int(hedge.split(":")[2])
        delays = [max(min_ms, math.exp(mu + s * NormalDist().inv_cdf(q))) for mu, s in features]
        extra = 0
        on = []
        for agg in draws:
            slowest = 0.0
            for x, d in zip(agg, delays):
                done = x[0]
                for k in range(1, attempts):
                    if done <= k * d:
                        break
                    extra += 1
                    done = min(done, k * d + x[k])
                slowest = max(slowest, done)
            on.append(slowest)
        on.sort()
        print(f"ideal hedge at each feature's p{q * 100:g} (at least {min_ms:g} ms, {attempts} attempts): "
              f"p99 {quantile(on, 0.99):.1f} ms (x{quantile(on, 0.99) / quantile(off, 0.99):.2f}), "
              f"p99.9 {quantile(on, 0.999):.1f} ms (x{quantile(on, 0.999) / quantile(off, 0.999):.2f}), "
              f"extra calls {100 * extra / (len(features) * a.aggregates):.1f}% of first calls")

if __name__ == "__main__":
    main()
