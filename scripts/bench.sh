#!/usr/bin/env bash
# The benchmark: builds Release into build-bench, starts the mock fleet
# (mock_services/fleet-fast.json: no added latency) and the aggregator on free
# loopback ports, and measures with fanout-bench:
#   - the one-hop reference: GetUsage straight to one mock service;
#   - the 12-way aggregate: GetCustomerAnalytics through the aggregator;
#   - the same aggregate with metrics on: a second aggregator with admin_listen, its /metrics
#     scraped every second as Prometheus would (the first one has metrics off); the last lines
#     compare the two's CPU per aggregate;
# each at every -c in the list, every case REPS times, interleaved (case 1,
# case 2, ..., case 1, case 2, ...) so that drifting machine load spreads over
# all cases. Prints the median and min-max of each figure.
#
#   scripts/bench.sh [-c 1,32] [--duration 10s] [--warmup 2s] [--reps 3] [--workers N]
#                    [--connections K] [--log-level LEVEL] [--delay 20ms] [--workers-sweep]
#                    [--width-sweep] [--memory] [--mock-layout one-process|per-feature] [--no-build]
#                    [--auth] [--tail] [--http]
#
# --workers N      the aggregator's workers (default 1: here it shares the machine with the fleet
#                  and the load generators; scripts/bench-scale.py measures workers on cores of
#                  their own)
# --delay D        also the one-hop reference and the aggregate with every feature delayed by D
#                  (x-mock-fault header): the reference shows what the delay costs without the aggregator;
#                  with the one-process fleet, also the one hop with 12 x N calls in flight over 12
#                  connections: the fleet's load under an aggregate at -c N, without the aggregator
# --workers-sweep  also the aggregate on aggregators with 1 and with 2 workers
# --width-sweep    also the aggregate over fleets of 1, 4, 12, 48 and 96 features
# --memory         also RSS with 1,000 aggregates in flight (features delayed 1 s): per aggregate;
#                  and first, with no aggregator, 12,000 GetUsage calls in flight over 12
#                  connections: what a bare call holds on the server (the fleet's growth) and
#                  on the client (fanout-bench's), the floor under an aggregate's 1 + 12 calls
# --auth           also the aggregate with token authentication on, with RS256 and with ES256
#                  tokens (scripts/gen-jwt-keys.sh, scripts/mint-token.py): what verification costs
# --tail           also the tail case (hedged feature calls): the heavy-tailed fleet
#                  (mock_services/fleet.json) at -c 4 through an aggregator without hedging and one
#                  with the shipped hedge (quantile 0.93, 10-500 ms, 3 attempts, default budget), each
#                  on a fleet of its own so that the mocks' stop statistics count its feature calls
#                  per attempt; the fast fleet's aggregate with that hedge (its CPU cost when no hedge
#                  fires); and tours delayed 50 ms on every call, hedged after 5 ms: the extra calls
#                  the budget allows
# --http           also the aggregate through the HTTP/JSON face (GET .../analytics) of the same
#                  aggregator, with h2load --h1 (scripts/bench-http.py): -c N is N connections
#                  with one request in flight each, where the gRPC cases multiplex on one
# --mock-layout    one-process (default): the fleet's services share one process and one
#                  completion-queue thread, each on its own port, so that the backends cost what
#                  fast backends on other hosts would; per-feature: one process per service, as
#                  the fault-testing fleet runs, where 12 processes on 2 cores wake in turn
#
# Everything started is stopped at the end, whatever happens. Raw JSON lines
# are kept in build-bench/bench-results.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."

conc=1,32
duration=10s
warmup=2s
reps=3
workers=1
connections=1
log_level=""
delay=""
workers_sweep=0
width_sweep=0
memory=0
layout=one-process
build=1
auth=0
tail=0
http=0

usage() {
  sed -n '10,47p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

while (($#)); do
  case "$1" in
    -c) conc=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --log-level) log_level=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --workers-sweep) workers_sweep=1; shift ;;
    --width-sweep) width_sweep=1; shift ;;
    --memory) memory=1; shift ;;
    --auth) auth=1; shift ;;
    --tail) tail=1; shift ;;
    --http) http=1; shift ;;
    --mock-layout) layout=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) usage ;;
    *) echo "bench: unknown option $1" >&2; usage ;;
  esac
done
case "$layout" in
  one-process) fleet_flags=(--one-process) ;;
  per-feature) fleet_flags=() ;;
  *) echo "bench: --mock-layout is one-process or per-feature, not $layout" >&2; usage ;;
esac
IFS=, read -r -a conc_list <<<"$conc"

bin="build-bench"
if ((build)); then
  # The measuring build: Release, as deployed.
  source scripts/lib/build.sh
  build_configure "$bin" -DCMAKE_BUILD_TYPE=Release
  build_targets "$bin" 2 mock_services aggregator fanout-bench
fi
bench_bin=$bin/bench/fanout-bench

source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init bench
watched=() # fleet children: the fleet stops them

# start_fleet NAME FILE: starts a fleet; its "fleet" line goes to $work/NAME.fleet.
start_fleet() {
  procs_start "$1" "$bin/mock_services/mock_services" --fleet "$2" "${fleet_flags[@]}"
  echo "$first" >"$work/$1.fleet"
  echo "$last_pid" >"$work/$1.fleetpid"
  # The children too: a mock that dies would turn every later figure into a partial failure.
  read -r -a children <<<"$(jq -r '[.features[].pid] | unique | join(" ")' "$work/$1.fleet")"
  watched+=("${children[@]}")
}

# check_alive: fails, with the fleet logs, when a process started here has died.
check_alive() {
  local pid
  for pid in "${pids[@]}" "${watched[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: process $pid died; results so far are in $bin/bench-results.jsonl" >&2
      cp "$work/results.jsonl" "$bin/bench-results.jsonl" 2>/dev/null || true
      grep -h '"child_exited"' "$work"/*.log >&2 || true
      return 1
    fi
  done
}

# start_aggregator NAME FLEET WIDTH WORKERS [EXTRA_JSON]: an aggregator on the first WIDTH
# features (by name) of fleet FLEET, with EXTRA_JSON's top-level keys; its address and pid go to
# $work/NAME.addr, .pid.
start_aggregator() {
  local name=$1 fleet=$2 width=$3 nworkers=$4
  local extra
  extra=$(jq -n --arg workers "$nworkers" --argjson more "${5:-"{}"}" '{shutdown_grace_ms: 1000, http_listen: "127.0.0.1:0"}
    + (if $workers == "" then {} else {workers: ($workers | tonumber)} end) + $more')
  fleet_agg_config 5000 "$extra" <"$work/$fleet.fleet" |
    jq --argjson width "$width" '.features |= (sort_by(.name) | .[:$width])' >"$work/$name.json"
  local flags=(--config "$work/$name.json")
  [[ -n "$log_level" ]] && flags+=(--log-level "$log_level")
  procs_start "$name" "$bin/aggregator/aggregator" "${flags[@]}"
  echo "$last_pid" >"$work/$name.pid"
  jq -r .address <<<"$first" >"$work/$name.addr"
  jq -r .http_address <<<"$first" >"$work/$name.http"
}

# agg_args NAME: fanout-bench arguments that target aggregator NAME and measure its CPU.
agg_args() { echo "--target $(cat "$work/$1.addr") --pid aggregator=$(cat "$work/$1.pid")"; }
# mock_pids FLEET: its service processes, each once (one-process: a single one).
mock_pids() { jq -r '[.features[].pid] | unique | map(tostring) | join(",")' "$work/$1.fleet"; }
# delay_header FLEET DURATION: x-mock-fault value that delays every feature of the fleet.
delay_header() { jq -r --arg d "$2" '[.features | keys[] | "\(.)=delay:\($d)"] | join(",")' "$work/$1.fleet"; }

# Cases: a label and fanout-bench arguments, one per line of $work/cases.
add_case() {
  local label=$1
  shift
  printf '%s\t%s\n' "$label" "$*" >>"$work/cases"
}

uptime_before=$(uptime)
start_fleet fleet mock_services/fleet-fast.json
start_aggregator agg fleet 12 "$workers"
listings=$(jq -r .features.listings.address "$work/fleet.fleet")
mocks="mocks=$(mock_pids fleet)"
common="--duration $duration --warmup $warmup --connections $connections"

# Metrics on: the same aggregator with its admin listener, scraped every second.
start_aggregator agg-metrics fleet 12 "$workers" '{"admin_listen": "127.0.0.1:0"}'
metrics_port=$(jq -r .admin_port <<<"$first")
(while sleep 1; do curl -fsS -o /dev/null "http://127.0.0.1:$metrics_port/metrics" || exit 1; done) &
procs_add $!

for c in "${conc_list[@]}"; do
  add_case "direct c=$c" "--mode direct --target $listings -c $c $common --pid $mocks"
  add_case "aggregate c=$c" "$(agg_args agg) -c $c $common --pid $mocks"
  add_case "aggregate metrics=on c=$c" "$(agg_args agg-metrics) -c $c $common --pid $mocks"
done
if [[ -n "$delay" ]]; then
  header="x-mock-fault=$(delay_header fleet "$delay")"
  for c in "${conc_list[@]}"; do
    add_case "direct delay=$delay c=$c" "--mode direct --target $listings -c $c $common --pid $mocks --metadata $header"
    add_case "aggregate delay=$delay c=$c" "$(agg_args agg) -c $c $common --pid $mocks --metadata $header"
    # One process serves every feature, so the calls of 12 features may all go to one of them.
    if [[ "$layout" == one-process ]]; then
      add_case "direct delay=$delay c=$((12 * c)) conns=12" \
        "--mode direct --target $listings -c $((12 * c)) --connections 12 --duration $duration --warmup $warmup --pid $mocks --metadata $header"
    fi
  done
fi
if ((http)); then
  for c in "${conc_list[@]}"; do
    url="http://$(cat "$work/agg.http")/v1/customers/c-1/analytics"
    add_case "aggregate http c=$c" \
      "--http --url $url -c $c --duration $duration --warmup $warmup --pid aggregator=$(cat "$work/agg.pid") --pid $mocks"
  done
fi
if ((workers_sweep)); then
  for w in 1 2; do start_aggregator "agg-w$w" fleet 12 $w; done
  for c in "${conc_list[@]}"; do
    for w in 1 2; do
      add_case "aggregate workers=$w c=$c" "$(agg_args "agg-w$w") -c $c $common --pid $mocks"
    done
  done
fi
if ((auth)); then
  # Tokens for every customer (the admin scope), so the pool of customers stays as it is.
  sh scripts/gen-jwt-keys.sh "$work/keys"
  auth_json=$(jq -n --arg k "$work/keys" '{auth: {issuer: "https://issuer.example", audience: "fanout",
    algorithms: ["RS256", "ES256"], keys: [($k + "/a.pub.pem"), ($k + "/e.pub.pem")], admin_scope: "analytics:all"}}')
  start_aggregator agg-auth fleet 12 "$workers" "$auth_json"
  for alg in RS256 ES256; do
    key=a
    [[ "$alg" == ES256 ]] && key=e
    token=$(/usr/bin/python3 scripts/mint-token.py token --key "$work/keys/$key.pem" --alg "$alg" --kid "$key" \
      --scope analytics:all --exp-in 86400)
    for c in "${conc_list[@]}"; do
      add_case "aggregate auth=$alg c=$c" "$(agg_args agg-auth) -c $c $common --pid $mocks --token $token"
    done
  done
fi
if ((tail)); then
  hedge_json='{"hedge": {"quantile": 0.93, "min_ms": 10, "max_ms": 500, "max_attempts": 3}}'
  start_fleet tail-off mock_services/fleet.json
  start_fleet tail-on mock_services/fleet.json
  start_fleet slow mock_services/fleet-fast.json
  start_aggregator agg-tail-off tail-off 12 "$workers"
  start_aggregator agg-tail-on tail-on 12 "$workers" "$hedge_json"
  start_aggregator agg-hedge fleet 12 "$workers" "$hedge_json"
  start_aggregator agg-slow slow 12 "$workers" '{"hedge": {"after_ms": 5}}'
  add_case "tail hedge=off c=4" "$(agg_args agg-tail-off) -c 4 $common --pid mocks=$(mock_pids tail-off)"
  add_case "tail hedge=on c=4" "$(agg_args agg-tail-on) -c 4 $common --pid mocks=$(mock_pids tail-on)"
  for c in "${conc_list[@]}"; do
    add_case "aggregate hedge=on c=$c" "$(agg_args agg-hedge) -c $c $common --pid $mocks"
  done
  add_case "slow tours hedge=on c=4" \
    "$(agg_args agg-slow) -c 4 $common --pid mocks=$(mock_pids slow) --metadata x-mock-fault=tours=delay:50ms"
fi
if ((width_sweep)); then
  widths=(1 4 12 48 96)
  jq -n '{features: [range(1; 97) | {name: ("f" + (if . < 10 then "0" else "" end) + tostring),
                                     listen: "127.0.0.1:0"}]}' >"$work/fleet-wide.json"
  start_fleet wide "$work/fleet-wide.json"
  wide_mocks="mocks=$(mock_pids wide)"
  for n in "${widths[@]}"; do start_aggregator "agg-n$n" wide "$n" "$workers"; done
  for c in "${conc_list[@]}"; do
    for n in "${widths[@]}"; do
      add_case "width=$n c=$c" "$(agg_args "agg-n$n") -c $c $common --pid $wide_mocks"
    done
  done
fi

ncases=$(wc -l <"$work/cases")
echo "bench: $ncases cases x $reps repetitions, $warmup warm-up + $duration each" >&2
for rep in $(seq "$reps"); do
  while IFS=$'\t' read -r label args; do
    echo "bench: [$rep/$reps] $label" >&2
    check_alive
    # shellcheck disable=SC2086 # args is a list of words by construction
    if [[ "$args" == --http* ]]; then
      python3 scripts/bench-http.py --label "$label" ${args#--http } </dev/null >>"$work/results.jsonl"
    else
      "$bench_bin" --format json --label "$label" $args </dev/null >>"$work/results.jsonl"
    fi
  done <"$work/cases"
done

# memory_case: RSS of a fresh aggregator idle, after a light warm-up, and with
# 1,000 aggregates in flight (every feature delayed 1 s); prints one JSON line.
memory_case() {
  start_aggregator agg-mem fleet 12 "$workers"
  local pid addr idle warm loaded
  pid=$(cat "$work/agg-mem.pid")
  addr=$(cat "$work/agg-mem.addr")
  sleep 1
  idle=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  warm=$("$bench_bin" --format json --target "$addr" -c 1 --warmup 0 --duration 1s --pid "agg=$pid")
  loaded=$("$bench_bin" --format json --target "$addr" -c 1000 --warmup 3s --duration 2s --timeout 30s \
    --pid "agg=$pid" --metadata "x-mock-fault=$(delay_header fleet 1s)")
  jq -cn --argjson idle "$idle" --argjson warm "$warm" --argjson loaded "$loaded" '
    {idle_kb: $idle, warm_kb: $warm.procs.agg.rss_kb, loaded_kb: $loaded.procs.agg.rss_kb,
     peak_kb: $loaded.procs.agg.hwm_kb, in_flight: $loaded.concurrency,
     errors: ($loaded.errors | add // 0), partial: $loaded.partial,
     per_aggregate_kb: (($loaded.procs.agg.rss_kb - $warm.procs.agg.rss_kb) / $loaded.concurrency)}'
}
# grpc_floor_case: RSS of the fleet and of fanout-bench with 12 and then with
# 12,000 GetUsage calls in flight over 12 connections, no aggregator between
# them; prints one JSON line. The calls are delayed 30 s so that none ends in
# the window: 12,000 replies landing at once would count their burst too. It
# runs before memory_case, as the fleet's malloc keeps what it grew to.
grpc_floor_case() {
  local calls=12000 flags warm loaded
  flags="--mode direct --target $listings --connections 12 --pid $mocks --format json"
  # shellcheck disable=SC2086 # flags is a list of words by construction
  warm=$("$bench_bin" $flags -c 12 --warmup 0 --duration 1s)
  # shellcheck disable=SC2086
  loaded=$("$bench_bin" $flags -c "$calls" --warmup 3s --duration 2s --timeout 60s \
    --metadata "x-mock-fault=$(delay_header fleet 30s)")
  jq -cn --argjson warm "$warm" --argjson loaded "$loaded" '
    {in_flight: $loaded.concurrency, errors: ($loaded.errors | add // 0),
     server_call_kb: (($loaded.procs.mocks.rss_kb - $warm.procs.mocks.rss_kb) / $loaded.concurrency),
     client_call_kb: (($loaded.bench_rss_kb - $warm.bench_rss_kb) / $loaded.concurrency)}'
}
if ((memory)); then
  echo "bench: memory with 12000 bare calls in flight" >&2
  grpc_floor_case >"$work/floor.json"
  echo "bench: memory with 1000 aggregates in flight" >&2
  memory_case >"$work/memory.json"
fi
check_alive
uptime_after=$(uptime)
cp "$work/results.jsonl" "$bin/bench-results.jsonl"

# fleet_attempts FLEET: stops the fleet and sums its stats lines' calls by attempt, all features
# and tours alone: {first, extra, tours_first, tours_extra}.
fleet_attempts() {
  local pid
  pid=$(cat "$work/$1.fleetpid")
  kill -TERM "$pid"
  wait "$pid" || true
  grep -h '"event":"stats"' "$work/$1.log" | jq -cs '
    def first: map(.calls_by_attempt[0]) | add; def extra: map(.calls_by_attempt[1:] | add) | add;
    {first: first, extra: extra, tours_first: (map(select(.feature == "tours")) | first),
     tours_extra: (map(select(.feature == "tours")) | extra)}'
}
if ((tail)); then
  for f in tail-off tail-on slow; do fleet_attempts "$f" >"$work/$f.attempts"; done
fi

# The table: per case, in case order, median and min-max over the repetitions.
echo
echo "fanout benchmark, $reps repetitions interleaved, median (min-max); $warmup warm-up + $duration each; mocks: $layout"
echo "load average before: ${uptime_before##*average: }   after: ${uptime_after##*average: }   ($(nproc) cores)"
cut -f1 "$work/cases" | jq -R . >"$work/labels.json"
jq -rs --slurpfile labels "$work/labels.json" '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def fmt(d): . * pow(10; d) | round / pow(10; d) | tostring;
  def cell(f; d): [.[] | f] | if any(. == null) then "-"
    else "\(med | fmt(d)) (\(min | fmt(d))-\(max | fmt(d)))" end;
  ["case", "req/s", "p50 ms", "p99 ms", "agg CPU us/req", "mock CPU us/req", "mock CPU us/call",
   "bench CPU us/req", "errors+partial"],
  (. as $runs | $labels[] as $l | [$runs[] | select(.label == $l)] |
   [$l, cell(.rps; 0), cell(.latency_us.p50 / 1000; 3), cell(.latency_us.p99 / 1000; 3),
    cell(.procs.aggregator.cpu_us_per_req; 0), cell(.procs.mocks.cpu_us_per_req; 0),
    cell(.procs.mocks.cpu_s * 1e6 / .feature_calls; 1), cell(.bench_cpu_us_per_req; 0),
    ([.[] | (.errors | add // 0) + .partial] | add | tostring)])
  | join("\t")' "$work/results.jsonl" | column -t -s $'\t'
# Metrics on against off, per concurrency: the medians of the aggregator's CPU per aggregate.
for c in "${conc_list[@]}"; do
  jq -rs --arg off "aggregate c=$c" --arg on "aggregate metrics=on c=$c" '
    def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    ([.[] | select(.label == $off) | .procs.aggregator.cpu_us_per_req] | med) as $a |
    ([.[] | select(.label == $on) | .procs.aggregator.cpu_us_per_req] | med) as $b |
    "metrics c=\($off | ltrimstr("aggregate c=")): aggregator CPU per aggregate \($b | round) us on, \($a | round) us off: " +
    "\(($b / $a - 1) * 1000 | round / 10)%"' "$work/results.jsonl"
done
if ((memory)); then
  echo
  jq -r 'def mb: . / 1024 * 10 | round / 10 | tostring + " MB";
    "memory: idle RSS \(.idle_kb | mb) cold, \(.warm_kb | mb) after a light warm-up; " +
    "\(.in_flight) aggregates in flight: RSS \(.loaded_kb | mb) (peak \(.peak_kb | mb)), " +
    "\(.per_aggregate_kb | round) KB per in-flight aggregate (errors \(.errors), partial \(.partial))"' \
    "$work/memory.json"
  jq -r 'def kb: . * 10 | round / 10 | tostring + " KB";
    "bare GetUsage calls, \(.in_flight) in flight (errors \(.errors)): \(.server_call_kb | kb) per server call, " +
    "\(.client_call_kb | kb) per client call; an aggregate'"'"'s 1 + 12 calls: " +
    "\(.server_call_kb + 12 * .client_call_kb | kb)"' "$work/floor.json"
fi
if ((tail)); then
  echo
  jq -rs --slurpfile off "$work/tail-off.attempts" --slurpfile on "$work/tail-on.attempts" \
    --slurpfile slow "$work/slow.attempts" '
    def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def r(d): . * pow(10; d) | round / pow(10; d) | tostring;
    def of($l; f): [.[] | select(.label == $l) | f] | med;
    def ratio(f): (of("tail hedge=on c=4"; f) / of("tail hedge=off c=4"; f)) | r(2);
    def pct(a): a.extra / a.first * 100 | r(1);
    "tail (heavy-tailed fleet, c=4), hedging on / off: p50 x\(ratio(.latency_us.p50)), " +
    "p99 x\(ratio(.latency_us.p99)), p99.9 x\(ratio(.latency_us["p99.9"])), " +
    "aggregator CPU per aggregate x\(ratio(.procs.aggregator.cpu_us_per_req))",
    "feature calls per aggregate: off \(12 * ($off[0].first + $off[0].extra) / $off[0].first | r(2)), " +
    "on \(12 * ($on[0].first + $on[0].extra) / $on[0].first | r(2)) (extra calls \(pct($on[0]))% of first " +
    "attempts, \($on[0].extra) of \($on[0].first), from the mocks'"'"' stats)",
    "tours delayed 50 ms on every call, hedged after 5 ms: \($slow[0].tours_extra) extra calls for " +
    "\($slow[0].tours_first) first attempts (\($slow[0].tours_extra / $slow[0].tours_first * 100 | r(1))%; " +
    "budget: 5% of first attempts plus 10 a second, over any 10 s: each run of the case starts with a fresh window)"' "$work/results.jsonl"
fi
echo "raw results: $bin/bench-results.jsonl"
