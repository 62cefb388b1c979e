#!/usr/bin/env bash
# Memcheck of the real processes: builds a Debug tree without sanitizers (build-valgrind), starts
# the mock fleet in one process (--one-process), two feature services (listings, tours) and the
# aggregator, all under valgrind, sends real queries through them with fanout-cli (normal, injected errors, a malformed
# reply, hangs cut by the feature timeout and by the client's deadline (an early answer, and
# DEADLINE_EXCEEDED under fail-fast), streaming, a rejected
# request), then through the HTTP/JSON face with curl (a reply, a bad body, streams, a stream the
# client leaves), stops everything with SIGTERM and checks that every valgrind run reports no errors and
# no definite leaks. gRPC's global state and its threads may stay "still reachable" or "possibly
# lost"; only definite leaks and errors count, and gRPC 1.51 has none, so nothing is suppressed.
#
#   scripts/valgrind-test.sh
#
# The per-process fleet would not do under valgrind: its children re-execute /proc/self/exe, which
# there is valgrind's own binary.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if ! command -v valgrind >/dev/null; then
  echo "valgrind-test: valgrind is missing: apt-get install valgrind" >&2
  exit 2
fi

build=build-valgrind
jobs=$(nproc)
((jobs > 2)) && jobs=2
source scripts/lib/build.sh
build_configure "$build" -DCMAKE_BUILD_TYPE=Debug -DFANOUT_SANITIZE=OFF -DFANOUT_JEMALLOC=OFF
build_targets "$build" "$jobs" aggregator mock_services fanout-cli

source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init valgrind-test

vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --error-exitcode=99 --num-callers=40)

# Processes under valgrind, by name: pid, valgrind log.
declare -A vg_pid vg_log

# start_vg NAME COMMAND...: starts COMMAND under valgrind; its stdout goes to $work/NAME.out.
start_vg() {
  local name=$1
  shift
  vg_log[$name]=$work/vg-$name.log
  "${vg[@]}" --log-file="${vg_log[$name]}" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  vg_pid[$name]=$!
  procs_add $!
}

build_mock=$build/mock_services/mock_services
start_vg fleet "$build_mock" --fleet mock_services/fleet.json --one-process --admin-listen 127.0.0.1:0
start_vg listings "$build_mock" --feature listings --listen 127.0.0.1:0
start_vg tours "$build_mock" --feature tours --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0
fleet=$(wait_first_line "$work/fleet.out" "${vg_pid[fleet]}")
listings=$(wait_first_line "$work/listings.out" "${vg_pid[listings]}" | jq -r .address)
tours=$(wait_first_line "$work/tours.out" "${vg_pid[tours]}" | jq -r .address)

# The fleet's features, with listings and tours on the services under valgrind. Timeouts allow
# for valgrind's slowness; the tours hang below is cut by its 5 s. The early answer ahead of a
# client's deadline gets a reserve that covers valgrind's round trip.
fleet_agg_config 5000 '{"workers": 2, "shutdown_grace_ms": 2000, "deadline_reserve_ms": 300,
                        "admin_listen": "127.0.0.1:0", "http_listen": "127.0.0.1:0"}' <<<"$fleet" |
  jq --arg listings "$listings" --arg tours "$tours" '.features[] |= (.target =
       (if .name == "listings" then $listings elif .name == "tours" then $tours else .target end))' \
    >"$work/aggregator.json"
start_vg aggregator "$build/aggregator/aggregator" --config "$work/aggregator.json" --log-level warn
agg_line=$(wait_first_line "$work/aggregator.out" "${vg_pid[aggregator]}")
addr=$(jq -r .address <<<"$agg_line")
http_addr=$(jq -r .http_address <<<"$agg_line")
echo "valgrind-test: aggregator $addr, listings $listings and tours $tours under valgrind"

failures=0
# query NAME EXPECTED_EXIT JQ_CHECK [fanout-cli query flags...]: one query and its check on the
# output (JSON; with --stream, the lines slurped into an array), or on stderr when it failed.
query() {
  local name=$1 want=$2 check=$3
  shift 3
  local rc=0
  "$build/cli/fanout-cli" query --addr "$addr" --customer c-42 "$@" >"$work/q.out" 2>"$work/q.err" || rc=$?
  local ok=1
  if ((rc != want)); then
    ok=0
  elif ((rc == 0)); then
    jq -se "$check" "$work/q.out" >/dev/null 2>&1 || ok=0
  else
    grep -q -- "$check" "$work/q.err" || ok=0
  fi
  if ((ok)); then
    echo "valgrind-test: query $name: ok"
  else
    echo "valgrind-test: query $name: FAILED (exit $rc, wanted $want and $check)" >&2
    head -c 2000 "$work/q.out" "$work/q.err" >&2
    failures=$((failures + 1))
  fi
}

query normal 0 '.[0].succeeded == 12' --timeout 30s
query error-allow-partial 0 '.[0].failed == 1 and .[0].errors[0].kind == "UNAVAILABLE"' \
  --timeout 30s --metadata x-mock-fault=listings=error:UNAVAILABLE
query error-fail-fast 1 'INTERNAL' --timeout 30s --fail-fast --metadata x-mock-fault=tours=error:INTERNAL
query malformed 0 '.[0].errors[0].kind == "MALFORMED_RESPONSE"' \
  --timeout 30s --features listings,tours --metadata x-mock-fault=listings=malformed
query hang-feature-timeout 0 '.[0].errors[0].feature == "tours" and .[0].errors[0].kind == "DEADLINE"' \
  --timeout 30s --features listings,tours,offers --metadata x-mock-fault=tours=hang
query hang-client-deadline 0 '.[0].errors[0].feature == "listings" and .[0].errors[0].kind == "DEADLINE"' \
  --timeout 1500ms --metadata x-mock-fault=listings=hang
query hang-client-deadline-fail-fast 1 'DEADLINE_EXCEEDED' --timeout 1500ms --fail-fast \
  --metadata x-mock-fault=listings=hang
query stream 0 'length == 12' --timeout 30s --stream
query stream-with-error 0 'map(select(.error)) | length == 1' \
  --timeout 30s --stream --metadata x-mock-fault=tours=error:UNAVAILABLE
query invalid-request 1 'INVALID_ARGUMENT' --timeout 30s --features listings,listings
query unknown-feature 0 '.[0].errors[0].kind == "UNKNOWN_FEATURE"' --timeout 30s --features listings,nope

# The admin listeners under valgrind too: a scrape of each counts what the queries did.
scrape() {
  local name=$1 pattern=$2 port body
  port=$(head -n 1 "$work/$name.out" | jq -r .admin_port)
  # The whole body first: grep -q stops at its match, and curl, cut off, would fail the pipeline.
  body=$(curl -fsS --max-time 30 "http://127.0.0.1:$port/metrics" || true)
  if grep -qE "$pattern" <<<"$body"; then
    echo "valgrind-test: scrape $name: ok"
  else
    echo "valgrind-test: scrape $name: FAILED (no line matching $pattern)" >&2
    failures=$((failures + 1))
  fi
}
scrape aggregator '^fanout_feature_calls_total\{feature="listings",kind="MALFORMED_RESPONSE"\} [1-9]'
scrape tours '^fanout_mock_calls_total\{feature="tours",outcome="error"\} [1-9]'
scrape fleet '^fanout_mock_calls_total\{feature="searches",outcome="ok"\} [1-9]'
# The HTTP/JSON face: http_query NAME JQ_CHECK CURL_ARGS...: the body (SSE: the data lines) checked.
http_query() {
  local name=$1 check=$2
  shift 2
  if curl -sS --max-time 30 "$@" | sed -n 's/^data: //p; t; /^[{}]/p; /^  /p' | jq -se "$check" >/dev/null 2>&1; then
    echo "valgrind-test: http $name: ok"
  else
    echo "valgrind-test: http $name: FAILED ($check)" >&2
    failures=$((failures + 1))
  fi
}
http_query get '.[0].succeeded == 12' "http://$http_addr/v1/customers/c-42/analytics"
http_query post-unknown-field '.[0].code == 3' -X POST -d '{"customerId": "c", "x": 1}' "http://$http_addr/v1/analytics:query"
http_query stream '(map(select(.feature)) | length == 12) and .[-1].succeeded == 12' \
  "http://$http_addr/v1/customers/c-42/analytics:stream"
http_query stream-fail-fast '.[-1].code == 13' -H 'x-mock-fault: tours=error:INTERNAL' \
  "http://$http_addr/v1/customers/c-42/analytics:stream?policy=FAIL_FAST"
curl -sS --max-time 1 -H 'x-mock-fault: tours=hang' "http://$http_addr/v1/customers/c-42/analytics:stream" \
  >/dev/null 2>&1 || true

# SIGTERM: the aggregator drains first, then the services it called.
for name in aggregator listings tours fleet; do
  kill -TERM "${vg_pid[$name]}"
  rc=0
  wait "${vg_pid[$name]}" || rc=$?
  summary=$(grep -hoE "(definitely|indirectly|possibly) lost: .*|still reachable: .*|All heap blocks were freed.*|ERROR SUMMARY: [0-9]+ errors" \
    "${vg_log[$name]}" | paste -sd ';' -)
  echo "valgrind-test: $name: exit $rc; $summary"
  if ((rc != 0)) || ! grep -q "ERROR SUMMARY: 0 errors" "${vg_log[$name]}" ||
    ! grep -qE "definitely lost: 0 bytes|no leaks are possible" "${vg_log[$name]}"; then
    echo "valgrind-test: $name: valgrind found problems; its log:" >&2
    cat "${vg_log[$name]}" >&2
    failures=$((failures + 1))
  fi
done

if ((failures > 0)); then
  echo "valgrind-test: $failures failures" >&2
  exit 1
fi
echo "valgrind-test: no memory errors, no definite leaks"
