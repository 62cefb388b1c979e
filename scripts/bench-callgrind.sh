#!/usr/bin/env bash
# The repeatable regression figure: instructions the aggregator executes per
# 12-way aggregate, counted by valgrind's callgrind (Release build, mock fleet
# without added latency, fanout-bench -c 1). Unlike time, it hardly moves with
# machine load.
#
#   scripts/bench-callgrind.sh [--requests 200] [--warmup-requests 20] [--workers N] [--top 20] [--no-build]
#                              [--hedge] [--metrics]
#
# --hedge: the shipped hedge config, to count what hedging costs where few hedges fire.
# --metrics: the aggregator with metrics on (admin_listen), to compare with a run without: what
# the metrics' hooks cost per aggregate (nothing scrapes during the runs).
#
# Two runs, each on a fresh aggregator under callgrind:
#   A: warm-up + requests aggregates;   B: warm-up aggregates only.
# Instructions per aggregate = (Ir(A) - Ir(B)) / requests: start-up, connection
# set-up and shutdown cancel out. Ir(A) / (warm-up + requests) is printed too.
# --top N lists the N functions with most instructions (self) per aggregate,
# (A - B) / requests; run A's profile is kept in build-bench/callgrind.A.out. Callgrind counts user-space
# instructions only: system calls and the kernel's network stack are not in it.
# --hedge configures the shipped hedge (deploy/config): what hedging costs.
set -euo pipefail
cd "$(dirname "$0")/.."

requests=200
warmup_requests=20
workers=1 # the figure is per aggregate on one thread, as in bench.sh
top=20
build=1
hedge=0
metrics=0
while (($#)); do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --warmup-requests) warmup_requests=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --hedge) hedge=1; shift ;;
    --metrics) metrics=1; shift ;;
    *) sed -n '7,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
if ! command -v valgrind >/dev/null; then
  echo "bench-callgrind: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
fi

bin="build-bench"
if ((build)); then
  # Same measuring build as scripts/bench.sh.
  source scripts/lib/build.sh
  build_configure "$bin" -DCMAKE_BUILD_TYPE=Release
  build_targets "$bin" 2 mock_services aggregator fanout-bench
fi

source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init bench-callgrind

procs_start fleet "$bin/mock_services/mock_services" --fleet mock_services/fleet-fast.json
echo "$first" >"$work/fleet.json"
# Feature deadlines are generous: under valgrind the aggregator runs ~50 times slower.
# No forwarded metadata: the aggregate measured is the plain one.
extra=$(jq -n --arg workers "$workers" --argjson hedge "$hedge" --argjson metrics "$metrics" '{forward_metadata: [], shutdown_grace_ms: 1000}
  + (if $workers == "" then {} else {workers: ($workers | tonumber)} end)
  + (if $hedge == 1 then {hedge: {quantile: 0.93, min_ms: 10, max_ms: 500, max_attempts: 3}} else {} end)
  + (if $metrics == 1 then {admin_listen: "127.0.0.1:0"} else {} end)')
fleet_agg_config 30000 "$extra" <"$work/fleet.json" >"$work/aggregator.json"

# profile NAME WARMUP MEASURED: one aggregator under callgrind, WARMUP + MEASURED
# aggregates at -c 1, then SIGTERM; prints its total Ir and the bench's JSON line.
profile() {
  local name=$1 warm=$2 measured=$3 pid addr
  valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" \
    "$bin/aggregator/aggregator" --config "$work/aggregator.json" \
    >"$work/$name.log" 2>"$work/$name.valgrind" &
  pid=$!
  addr=$(wait_first_line "$work/$name.log" "$pid" 120 | jq -r .address)
  local flags=(--format json --target "$addr" -c 1 --timeout 60s --duration 600s --requests "$measured")
  if ((warm > 0)); then flags+=(--warmup 600s --warmup-requests "$warm"); else flags+=(--warmup 0); fi
  "$bin/bench/fanout-bench" "${flags[@]}" >"$work/$name.bench"
  kill -TERM "$pid"
  wait "$pid" || true
  local ir
  ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$work/$name.out")
  jq -c --argjson ir "$ir" '{ir: $ir, requests: (.warmup_calls + .requests), errors: (.errors | add // 0),
                              partial: .partial}' "$work/$name.bench"
}

echo "bench-callgrind: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "bench-callgrind: run A ($warmup_requests + $requests aggregates)" >&2
a=$(profile A "$warmup_requests" "$requests")
echo "bench-callgrind: run B ($warmup_requests aggregates)" >&2
if ((warmup_requests > 0)); then
  b=$(profile B 0 "$warmup_requests")
else
  b='{"ir": 0, "requests": 0, "errors": 0, "partial": 0}'
fi

echo
jq -rn --argjson a "$a" --argjson b "$b" --argjson n "$requests" '
  def g: tostring | [scan("\\d{1,3}(?=(?:\\d{3})*$)")] | join(",");
  "aggregator instructions (Ir), Release build, 12-way aggregates at -c 1'"$( ((metrics)) && echo ', metrics on')"':",
  "  run A: \($a.ir | g) Ir for \($a.requests) aggregates (errors \($a.errors), partial \($a.partial))",
  "  run B: \($b.ir | g) Ir for \($b.requests) aggregates (errors \($b.errors), partial \($b.partial))",
  "  per aggregate, (A - B) / \($n): \((($a.ir - $b.ir) / $n) | round | g) Ir",
  "  per aggregate, A / \($a.requests) (start-up and shutdown included): \(($a.ir / $a.requests) | round | g) Ir"'
cp "$work/A.out" "$bin/callgrind.A.out"
echo "  run A's profile: $bin/callgrind.A.out (callgrind_annotate --inclusive=yes $bin/callgrind.A.out)"
if ((top > 0)); then
  # Per function, own instructions of A minus B, per measured aggregate: what
  # one aggregate costs, without start-up and shutdown.
  own() {
    if [[ -f $1 ]]; then
      callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null |
        sed -nE 's/^ *([0-9,]+) \([ 0-9.]+%\)  (.*)$/\1\t\2/p' | grep -v 'PROGRAM TOTALS' | tr -d ,
    fi
  }
  echo
  echo "top $top functions by own instructions per aggregate, (A - B) / $requests:"
  awk -F'\t' -v n="$requests" '
    FNR == 1 { file++ }
    file == 1 { a[$2] = $1 } file == 2 { b[$2] = $1 }
    END { for (f in a) { d = (a[f] - b[f]) / n; if (d > 0) printf "%9.0f  %s\n", d, f } }' \
    <(own "$work/A.out") <(own "$work/B.out") | sort -rn | awk -v top="$top" 'NR <= top' # head would end sort with SIGPIPE
fi
