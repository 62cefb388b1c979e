#!/usr/bin/env bash
# The benchmark scripts on short runs, as a test of the scripts themselves (the
# figures of so short a run mean nothing): scripts/bench.sh with every option
# prints a row for every case with no failed call, the memory lines and the tail case's;
# scripts/bench-callgrind.sh prints instructions per aggregate;
# scripts/bench-scale.py, packed by scripts/bench-scale-pack.sh and run on shared CPUs through
# the packed loader, measures every case with no failed call; scripts/tail-model.py prints a line per hedge; none leaves a process running.
#
#   scripts/bench-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "bench-smoke: $*" >&2
  exit 1
}

source scripts/lib/leftovers.sh
leftovers_init "build-bench/(aggregator/aggregator|mock_services/mock_services)"

out=$(mktemp)
trap 'rm -f "$out"' EXIT

scripts/bench.sh -c 1,4 --reps 2 --duration 1s --warmup 200ms --delay 20ms --workers-sweep --width-sweep \
  --memory --auth --tail --http >"$out" || fail "scripts/bench.sh failed: $(cat "$out")"
cat "$out"
labels=("tail hedge=off c=4" "tail hedge=on c=4" "slow tours hedge=on c=4")
for c in 1 4; do
  labels+=("direct c=$c" "aggregate c=$c" "aggregate metrics=on c=$c" "direct delay=20ms c=$c" "aggregate delay=20ms c=$c"
           "direct delay=20ms c=$((12 * c)) conns=12" "aggregate workers=1 c=$c" "aggregate workers=2 c=$c"
           "aggregate auth=RS256 c=$c" "aggregate auth=ES256 c=$c" "aggregate hedge=on c=$c" "aggregate http c=$c")
  for n in 1 4 12 48 96; do labels+=("width=$n c=$c"); done
done
for label in "${labels[@]}"; do
  row=$(grep -E "^$label  " "$out") || fail "no row for \"$label\""
  # The last column counts failed calls and partial aggregates; a fast fleet has none.
  [[ "${row##* }" == 0 ]] || fail "\"$label\" had failed calls or partial aggregates: $row"
done
for c in 1 4; do
  grep -Eq "^metrics c=$c: aggregator CPU per aggregate [0-9]+ us on, [0-9]+ us off: -?[0-9.]+%$" "$out" ||
    fail "no metrics on/off line for c=$c"
done
grep -Eq "^memory: .* [0-9]+ KB per in-flight aggregate \(errors 0, partial 0\)$" "$out" ||
  fail "no memory line, or one with errors"
grep -Eq "^bare GetUsage calls, 12000 in flight \(errors 0\): [0-9.]+ KB per server call, [0-9.]+ KB per client call; " "$out" ||
  fail "no line for the bare calls' memory, or one with errors"
grep -Eq "^tail \(heavy-tailed fleet, c=4\), hedging on / off: p50 x[0-9.]+, p99 x[0-9.]+, p99.9 x[0-9.]+, " "$out" ||
  fail "no line for the tail case's ratios"
grep -Eq "^feature calls per aggregate: off 12(\.0+)?, on [0-9.]+ \(extra calls " "$out" ||
  fail "no line for the tail case's feature calls, or the run without hedging made extra calls"
grep -Eq "^tours delayed 50 ms on every call, hedged after 5 ms: [0-9]+ extra calls for [0-9]+ first attempts" "$out" ||
  fail "no line for the slow feature's extra calls"
[[ $(wc -l <build-bench/bench-results.jsonl) -eq $((2 * ${#labels[@]})) ]] ||
  fail "build-bench/bench-results.jsonl does not hold one line per case and repetition"
[[ -z "$(leftovers)" ]] || fail "scripts/bench.sh left processes running: $(leftovers)"

scripts/bench-callgrind.sh --no-build --requests 20 --warmup-requests 5 --top 3 >"$out" 2>&1 ||
  fail "scripts/bench-callgrind.sh failed: $(cat "$out")"
cat "$out"
grep -Eq "^  per aggregate, \(A - B\) / 20: [0-9,]+ Ir$" "$out" || fail "bench-callgrind printed no instructions per aggregate"
[[ $(grep -c "aggregates (errors 0, partial 0)$" "$out") -eq 2 ]] || fail "bench-callgrind's runs had failed calls"
[[ -z "$(leftovers)" ]] || fail "scripts/bench-callgrind.sh left processes running: $(leftovers)"
# As on a lent machine: the binaries, their libraries and the loader packed in a folder of their own.
scripts/bench-scale-pack.sh "$out.pack" build-bench >/dev/null || fail "scripts/bench-scale-pack.sh failed"
"$out.pack/run.sh" --shared-cpus --workers 1,2 --processes 2 --engines default,poll --reps 1 --duration 0.5 \
  --warmup 0.2 -c 8 --connections 4 --json "$out.scale" >"$out" 2>&1 || fail "scripts/bench-scale.py failed: $(cat "$out")"
cat "$out"
# workers=1, workers=2 and 2 processes of one worker, each with aggregates, sleeps and no failure;
# the aggregator says which engine ran it: gRPC's default, epoll1, or the poll that --engines asked for.
jq -se 'length == 6 and all(.aggregates_per_s > 0 and .failed == 0 and .cpu_us_per_aggregate > 0
                            and .sleeps_per_aggregate >= 0)
        and ([.[] | [.engine, .workers, .processes]] | sort ==
             [["default", 1, 1], ["default", 1, 2], ["default", 2, 1], ["poll", 1, 1], ["poll", 1, 2], ["poll", 2, 1]])
        and all(.poll_engine == (if .engine == "default" then "epoll1" else .engine end))' \
  "$out.scale" >/dev/null ||
  fail "bench-scale's cases are not all there with aggregates and no failure: $(cat "$out.scale")"
rm -rf "$out.scale" "$out.pack"
[[ -z "$(leftovers)" ]] || fail "scripts/bench-scale.py left processes running: $(leftovers)"
python3 scripts/tail-model.py --aggregates 2000 --hedges 0.95:2:2,0.93:10:3 >"$out" 2>&1 ||
  fail "scripts/tail-model.py failed: $(cat "$out")"
cat "$out"
[[ $(grep -Ec "^ideal hedge .* p99 [0-9.]+ ms \(x[0-9.]+\), .* extra calls [0-9.]+% of first calls$" "$out") -eq 2 ]] ||
  fail "scripts/tail-model.py printed no line for each hedge"
echo "bench-smoke: ok"
