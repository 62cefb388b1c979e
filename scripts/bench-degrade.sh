#!/usr/bin/env bash
# The graceful-degradation figures (README, Graceful degradation): builds Release into
# build-bench, starts the mock fleet (mock_services/fleet-fast.json, one process) and an
# aggregator with the default deadline_reserve_ms and breakers, and measures with fanout-bench:
#   1. the early answer: N calls (default 1,000) with a 50 ms deadline while tours is delayed
#      300 ms: how many DEADLINE_EXCEEDED, how many partial, how many failed features per answer;
#   2. the breaker: the healthy fleet's p50 (-c 8); then tours hangs (timeout_ms 1000): the
#      p50 of the first 5 aggregates (-c 1, before the breaker opens) and of OPEN_S seconds
#      of aggregates after it (-c 8); and, from the mock's own counts, how many calls tours
#      received after it opened (only the half-open probes), with the aggregator's breaker lines.
#
#   scripts/bench-degrade.sh [--requests N] [-c N] [--reserve MS] [--open-s S] [--no-build]
#
# -c: calls in flight in case 1 (default 1); --reserve: the aggregator's deadline_reserve_ms
# (default: its own default, 5).
#
# Everything started is stopped at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

requests=1000
conc=1
reserve=""
open_s=20
build=1
while (($#)); do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    -c) conc=$2; shift 2 ;;
    --reserve) reserve=$2; shift 2 ;;
    --open-s) open_s=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

bin=build-bench
if ((build)); then
  source scripts/lib/build.sh
  build_configure "$bin" -DCMAKE_BUILD_TYPE=Release -DFANOUT_SANITIZE=OFF
  build_targets "$bin" 2 mock_services aggregator fanout-bench
fi
bench=$bin/bench/fanout-bench
source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init bench-degrade

# start NAME: a one-process fleet and an aggregator on it (feature timeouts 1 s, log lines kept).
start() {
  procs_start "$1-fleet" "$bin/mock_services/mock_services" --fleet mock_services/fleet-fast.json --one-process
  fleet_pid=$last_pid
  local extra='{"log_level": "info"}'
  [[ -n "$reserve" ]] && extra="{\"log_level\": \"info\", \"deadline_reserve_ms\": $reserve}"
  fleet_agg_config 1000 "$extra" <<<"$first" >"$work/$1.json"
  procs_start "$1-agg" "$bin/aggregator/aggregator" --config "$work/$1.json" --listen 127.0.0.1:0
  addr=$(jq -r .address <<<"$first")
  "$bench" --mode aggregate --target "$addr" -c 8 --requests 200 --format json >/dev/null # connect and warm up
}

# bench ARGS...: one fanout-bench JSON line against the aggregator.
run() { "$bench" --mode aggregate --target "$addr" --format json --warmup 0 "$@"; }

# stop_fleet NAME: stops the fleet, which prints its stats lines.
stop_fleet() {
  kill -TERM "$fleet_pid"
  for _ in $(seq 100); do grep -q '"event":"stopped"' "$work/$1-fleet.log" && break; sleep 0.1; done
}

# tours_calls NAME OUTCOMES: tours' calls with those outcomes (a jq sum), from the stopped fleet's
# stats lines: a delayed or hanging call that the aggregator gave up on is "cancelled".
tours_calls() {
  grep '"event":"stats"' "$work/$1-fleet.log" | jq -s '[.[] | select(.feature == "tours")
    | '"$2"'] | add'
}

echo "== 1. early answer: $requests calls, 50 ms deadline, tours delayed 300 ms (c=$conc)"
start early
run -c "$conc" --requests "$requests" --duration 600s --timeout 50ms --metadata x-mock-fault=tours=delay:300ms |
  jq -c '{requests, ok, errors, partial, failed_features, p50_ms: (.latency_us.p50 / 1000),
          p99_ms: (.latency_us.p99 / 1000), max_ms: (.latency_us.max / 1000)}'
stop_fleet early
echo "tours calls cancelled at the mock: $(tours_calls early .cancelled)"

echo "== 2. breaker: tours hangs, timeout_ms 1000, default breaker"
start breaker
run -c 8 --duration 5s | jq -c '{case: "healthy", requests, ok, p50_ms: (.latency_us.p50 / 1000)}'
run -c 1 --requests 5 --metadata x-mock-fault=tours=hang |
  jq -c '{case: "hanging, before open", requests, failed_features, p50_ms: (.latency_us.p50 / 1000)}'
run -c 8 --duration "${open_s}s" --metadata x-mock-fault=tours=hang |
  jq -c '{case: "hanging, after open", requests, failed_features, p50_ms: (.latency_us.p50 / 1000),
          p99_ms: (.latency_us.p99 / 1000)}'
stop_fleet breaker
hung=$(tours_calls breaker .cancelled)
echo "tours received $hung calls while hanging: 5 before its breaker opened, $((hung - 5)) after (the probes)"
grep '"event":"breaker"' "$work/breaker-agg.log" | jq -c '{time, from, to, why, open_ms}'
