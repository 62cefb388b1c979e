#!/usr/bin/env bash
# A multi-host test without containers, as root: network namespaces stand in for hosts.
#
#   switch namespace: a bridge, one port per host below (veth pairs)
#   aggregator   10.77.0.1  (the CLI runs here too)
#   listings     10.77.0.11
#   tours        10.77.0.12
#   offers       10.77.0.13
#
# Each feature runs in its own namespace with its own address; the aggregator reaches them
# over the bridge. Cutting the tours host's link (its switch port down) must give tours
# DEADLINE or UNAVAILABLE within its timeout while the other two answer; bringing the link
# back up must give all three again. The addresses exist only inside the namespaces this
# script creates, and nothing is added to the host's own namespace. The namespaces and every
# process started in them are removed whatever happens.
#
#   scripts/netns-test.sh [BUILD_DIR]     (default build/, built here when needed)
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  exec sudo -E "$0" "$@"
fi

build=${1:-build}
started=$(date +%s)
log() { printf '[netns-test %3ds] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

command -v ip >/dev/null || { scripts/setup.sh; }
command -v jq >/dev/null || { scripts/setup.sh; }
if [[ ! -x "$build/aggregator/aggregator" || ! -x "$build/mock_services/mock_services" ||
      ! -x "$build/cli/fanout-cli" ]]; then
  scripts/setup.sh
  source scripts/lib/build.sh
  build_configure "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  build_targets "$build" "$(nproc)" aggregator mock_services fanout-cli
fi
agg_bin=$(realpath "$build/aggregator/aggregator")
mock_bin=$(realpath "$build/mock_services/mock_services")
cli_bin=$(realpath "$build/cli/fanout-cli")

tag=fo$$ # namespace and link names of this run: fo<pid>-sw, fo<pid>-agg, ...
sw=$tag-sw
timeout_ms=1000
declare -A addr=([agg]=10.77.0.1 [listings]=10.77.0.11 [tours]=10.77.0.12 [offers]=10.77.0.13)
hosts=(agg listings tours offers)
victim=tours
work=$(mktemp -d /tmp/fanout-netns-test.XXXXXX)
pids=()
namespaces=()

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # Anything else still inside our namespaces (there should be nothing) goes too.
  for ns in "${namespaces[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  for ns in "${namespaces[@]}"; do ip netns delete "$ns" 2>/dev/null; done
  if ((rc != 0)); then
    for f in "$work"/*.log; do [[ -s "$f" ]] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
  fi
  rm -rf "$work"
  if ((rc == 0)); then log "PASS in $(($(date +%s) - started)) s"; else log "FAILED (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the network -----------------------------------------------------------------------
ip netns add "$sw"
namespaces+=("$sw")
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
ip -n "$sw" link set lo up
for h in "${hosts[@]}"; do
  ns=$tag-$h
  ip netns add "$ns"
  namespaces+=("$ns")
  # One veth pair per host: eth0 in the host, p-<host> a port of the bridge.
  ip -n "$sw" link add "p-$h" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "p-$h" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "${addr[$h]}/24" dev eth0
  ip -n "$ns" link set eth0 up
done
log "namespaces up: ${namespaces[*]}"

# --- the processes -----------------------------------------------------------------------
# start NAME NS ARGV...: runs ARGV inside NS with stdout in $work/NAME.log; waits for its first line.
start() {
  local name=$1 ns=$2
  shift 2
  ip netns exec "$ns" "$@" >"$work/$name.log" 2>"$work/$name.err" &
  pids+=($!)
  local pid=$!
  for _ in $(seq 150); do
    if [[ -s "$work/$name.log" ]] && head -n 1 "$work/$name.log" | grep -q '}$'; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.err" >&2; die "$name exited at start"; }
    sleep 0.1
  done
  die "$name did not start in 15 s"
}

features_json=()
for h in listings tours offers; do
  start "$h" "$tag-$h" "$mock_bin" --feature "$h" --listen "${addr[$h]}:50061"
  features_json+=("{\"name\":\"$h\",\"target\":\"${addr[$h]}:50061\",\"timeout_ms\":$timeout_ms}")
done
(IFS=,; printf '{"listen":"%s:50051","features":[%s]}\n' "${addr[agg]}" "${features_json[*]}") >"$work/aggregator.json"
start aggregator "$tag-agg" "$agg_bin" --config "$work/aggregator.json"
log "aggregator $(head -n 1 "$work/aggregator.log")"

# query: the aggregated reply as JSON, asked from the aggregator's host.
query() {
  ip netns exec "$tag-agg" "$cli_bin" query --addr "${addr[agg]}:50051" --customer c-42 --timeout 10s
}
now_ms() { date +%s%3N; }

# --- all three answer --------------------------------------------------------------------
reply=$(query)
jq -e '.succeeded == 3 and (.failed // 0) == 0' <<<"$reply" >/dev/null ||
  die "expected 3 features to answer: $(jq -c '{succeeded, failed, errors}' <<<"$reply")"
log "baseline OK: listings, tours and offers answered across the bridge"

# --- the tours host's link cut --------------------------------------------------------------
ip -n "$sw" link set "p-$victim" down
log "cut the link of $victim (${addr[$victim]})"
for round in 1 2 3; do
  t0=$(now_ms)
  reply=$(query)
  took=$(($(now_ms) - t0))
  jq -e --arg f "$victim" '.succeeded == 2 and .failed == 1 and .partial == true and
      ([.results[] | select(.error)] | length == 1 and .[0].feature == $f and
       (.[0].error.kind == "DEADLINE" or .[0].error.kind == "UNAVAILABLE"))' <<<"$reply" >/dev/null ||
    die "with $victim cut off, expected it alone to fail: $(jq -c '{succeeded, failed, errors}' <<<"$reply")"
  # Within its timeout: the feature's own latency, as the aggregator measured it, ends at its
  # deadline (+ 250 ms of slack); the whole call, with the CLI's start, not much later.
  latency_ms=$(jq -r --arg f "$victim" \
    '.results[] | select(.feature == $f) | (.latencyUs // "0" | tonumber / 1000 | floor)' <<<"$reply")
  ((latency_ms <= timeout_ms + 250)) || die "$victim failed after $latency_ms ms, over its timeout of $timeout_ms ms"
  ((took < timeout_ms + 5000)) || die "the call took $took ms"
  outcome=$(jq -c --arg f "$victim" '.results[] | select(.feature == $f) | {feature, kind: .error.kind}' <<<"$reply")
  log "round $round: $outcome after $latency_ms ms (timeout $timeout_ms ms), others OK; call $took ms"
done

# --- the link restored ----------------------------------------------------------------------
ip -n "$sw" link set "p-$victim" up
log "restored the link of $victim"
t0=$(now_ms)
ok=0
for _ in $(seq 120); do
  reply=$(query) || true
  if jq -e '.succeeded == 3 and (.failed // 0) == 0' <<<"$reply" >/dev/null; then ok=1; break; fi
  sleep 0.5
done
((ok)) || die "$victim did not recover: $(jq -c '{succeeded, failed, errors}' <<<"$reply")"
log "recovery OK: all three answer again, $(($(now_ms) - t0)) ms after the link came back"
