#!/usr/bin/env bash
# The memory flood (README, Floods; issue #25): builds Release into build-bench, starts the mock
# fleet (mock_services/fleet-fast.json, one process) and an aggregator (workers 1, max_in_flight
# 2000), optionally inside a memory cgroup of its own, and floods it with nghttp2's h2load:
# 500 connections x 20 concurrent streams of GetCustomerAnalytics. Meanwhile a separate client
# (h2load too, its own connection) calls once a second with a 1 s deadline. Prints one JSON line:
# the aggregator's idle, peak (VmHWM) and after-flood RSS (30 s after), the budget it ran with,
# h2load's counts, the OK answers (the aggregator's request lines) and the refused ones
# (RESOURCE_EXHAUSTED: the rest), whether it was OOM-killed, and the probe's answers.
#
#   scripts/bench-flood.sh [--requests N] [--cgroup MB] [--max-memory-mb MB] [--bin DIR] [--check]
#
# --requests: default 100,000. --cgroup MB: run the aggregator in a memory cgroup of MB MiB
# (cgroup v1 or v2, made and removed here; needs root); 0 (default): none. --max-memory-mb: the
# aggregator's max_memory_mb (default: its own, from the cgroup or the machine). --bin: a build
# tree to use instead of building build-bench. --check: also fail (exit 1) unless the aggregator
# survived (no OOM kill), every flood request was answered (none hung), every probe call was
# answered within 1 s, and the RSS 30 s after the flood is at most 2 x idle (the flood issue's
# targets);
# with --cgroup, exit 77 (a skip) when no memory cgroup can be made here. A sanitized build is
# skipped (77): its RSS says nothing.
#
# Everything started is stopped, and the cgroup removed, at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

requests=100000
probe_s=60
cgroup_mb=0
max_memory_mb=0
bin=""
check=0
while (($#)); do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --cgroup) cgroup_mb=$2; shift 2 ;;
    --max-memory-mb) max_memory_mb=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --check) check=1; shift ;;
    *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

skip() { echo "bench-flood: SKIP: $*"; exit 77; }
fail() { echo "bench-flood: FAIL: $*" >&2; exit 1; }
command -v h2load >/dev/null || fail "h2load not found (Debian's nghttp2-client; scripts/setup.sh installs it)"

if [[ -z "$bin" ]]; then
  bin=build-bench
  source scripts/lib/build.sh
  build_configure "$bin" -DCMAKE_BUILD_TYPE=Release -DFANOUT_SANITIZE=OFF
  build_targets "$bin" 2 mock_services aggregator
fi
agg_bin=$bin/aggregator/aggregator
if nm -D "$agg_bin" 2>/dev/null | grep __asan_init >/dev/null; then
  skip "$agg_bin is built with sanitizers: its RSS says nothing (scripts/test.sh runs this on build-bench)"
fi
source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init bench-flood

# A memory cgroup of cgroup_mb MiB: v2 (the unified hierarchy, memory enabled for children) or
# v1 (the memory controller's own hierarchy). Sets $cg and $cg_version; fails when neither can be.
cg=""
cg_version=""
make_cgroup() {
  local name="fanout-flood-$$" bytes=$((cgroup_mb * 1024 * 1024))
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
    grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null ||
      echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
    if mkdir "/sys/fs/cgroup/$name" 2>/dev/null; then
      cg=/sys/fs/cgroup/$name
      cg_version=2
      echo "$bytes" >"$cg/memory.max" && echo 0 >"$cg/memory.swap.max" 2>/dev/null || true
      [[ $(cat "$cg/memory.max") == "$bytes" ]] && return 0
    fi
  elif [[ -d /sys/fs/cgroup/memory ]] && mkdir "/sys/fs/cgroup/memory/$name" 2>/dev/null; then
    cg=/sys/fs/cgroup/memory/$name
    cg_version=1
    echo "$bytes" >"$cg/memory.limit_in_bytes" 2>/dev/null || true
    echo "$bytes" >"$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
    [[ $(cat "$cg/memory.limit_in_bytes") == "$bytes" ]] && return 0
  fi
  return 1
}
remove_cgroup() {
  [[ -n "$cg" && -d "$cg" ]] || return 0
  for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && return 0; sleep 0.1; done
  echo "bench-flood: could not remove $cg" >&2
}
# The OOM kills the kernel counted in the cgroup.
oom_kills() {
  [[ -n "$cg" ]] || { echo 0; return; }
  if [[ $cg_version == 2 ]]; then
    awk '$1 == "oom_kill" {print $2}' "$cg/memory.events"
  else
    awk '$1 == "oom_kill" {print $2; f = 1} END {if (!f) print 0}' "$cg/memory.oom_control"
  fi
}
trap 'procs_stop_all; remove_cgroup' EXIT

if ((cgroup_mb > 0)); then
  if ! make_cgroup; then
    remove_cgroup
    ((check)) && skip "no memory cgroup can be made here (neither v2 nor v1; root needed)"
    fail "no memory cgroup can be made here (neither v2 nor v1; root needed)"
  fi
fi

rss_kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

procs_start fleet "$bin/mock_services/mock_services" --fleet mock_services/fleet-fast.json --one-process
extra="{\"log_level\": \"info\", \"workers\": 1, \"max_in_flight\": 2000"
((max_memory_mb > 0)) && extra+=", \"max_memory_mb\": $max_memory_mb"
fleet_agg_config 1000 "$extra}" <<<"$first" >"$work/agg.json"
if [[ -n "$cg" ]]; then
  procs_start agg bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" \
    "$agg_bin" --config "$work/agg.json" --listen 127.0.0.1:0
else
  procs_start agg "$agg_bin" --config "$work/agg.json" --listen 127.0.0.1:0
fi
agg_pid=$last_pid
addr=$(jq -r .address <<<"$first")
budget=$(grep -m1 '"event":"limits"' "$work/agg.log" | jq .max_memory_mb || true)
# The request: one gRPC message (a 0 byte, its length in 4 bytes, then the protobuf of
# {customer_id: "c-42"}).
printf '\x00\x00\x00\x00\x06\x0a\x04c-42' >"$work/request.bin"
h2load_grpc() {
  h2load -d "$work/request.bin" -H 'content-type: application/grpc' -H 'te: trailers' "$@" \
    "http://$addr/fanout.v1.Aggregator/GetCustomerAnalytics"
}
# Idle is the RSS at rest after a little traffic (2,000 calls on 4 connections): what the
# process holds once its threads and channels have been used.
h2load_grpc -n 2000 -c 4 -m 4 >/dev/null
sleep 2
idle_kb=$(rss_kb "$agg_pid" VmRSS)
warm_ok=$(grep -c '"customer":"c-42".*"status":"OK"' "$work/agg.log" || true)

# The probe: a separate client on its own connection, one call a second with a 1 s deadline
# (grpc-timeout), from before the flood to the end of the wait after it (customer c-probe, so
# that its answers are told apart in the aggregator's request lines).
printf '\x00\x00\x00\x00\x09\x0a\x07c-probe' >"$work/probe.bin"
h2load -D "$probe_s" --rps 1 -c 1 -m 1 -d "$work/probe.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
  -H 'grpc-timeout: 1S' "http://$addr/fanout.v1.Aggregator/GetCustomerAnalytics" >"$work/probe.txt" 2>&1 &
probe_pid=$!
procs_add "$probe_pid"
sleep 2

flood_s=$(date +%s%N)
timeout 300 bash -c "$(declare -f h2load_grpc); work=$work addr=$addr h2load_grpc -n $requests -c 500 -m 20 -t 2" \
  >"$work/h2load.txt" 2>&1 || true
flood_ms=$((($(date +%s%N) - flood_s) / 1000000))
alive=1
kill -0 "$agg_pid" 2>/dev/null || alive=0
peak_kb=0
((alive)) && peak_kb=$(rss_kb "$agg_pid" VmHWM)
sleep 30
after_kb=0
((alive)) && after_kb=$(rss_kb "$agg_pid" VmRSS)
wait "$probe_pid" || true

# "requests: 100000 total, 100000 started, 100000 done, 100000 succeeded, 0 failed, 0 errored, 0 timeout"
line=$(grep -m1 '^requests:' "$work/h2load.txt" || echo "requests: 0 total")
h2() { sed -n "s/.* \([0-9]*\) $1.*/\1/p" <<<"$line"; }
done_n=$(h2 done)
answered=$(h2 succeeded)
# h2load's "requests:" line: how many were answered; "time for request:": min, max, mean.
probe_line=$(grep -m1 '^requests:' "$work/probe.txt" || echo "requests: 0 total")
probe_n=$(sed -n 's/.* \([0-9]*\) done.*/\1/p' <<<"$probe_line")
probe_answered=$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' <<<"$probe_line")
probe_max_ms=$(awk '$1 == "time" && $3 == "request:" {v = $5; m = (v ~ /ms$/) ? v + 0 : (v ~ /us$/) ? v / 1000 : v * 1000; print int(m + 0.5)}' "$work/probe.txt")
probe_ok=$(grep -c '"customer":"c-probe".*"status":"OK"' "$work/agg.log" || true)
: "${probe_n:=0}" "${probe_answered:=0}" "${probe_max_ms:=0}"
# The flood's OK answers: every OK request line of the flood's customer but the warm-up's.
ok=$(($(grep -c '"customer":"c-42".*"status":"OK"' "$work/agg.log" || true) - warm_ok))
ooms=$(oom_kills)

jq -cn --argjson requests "$requests" --argjson cgroup_mb "$cgroup_mb" --arg cgroup_version "$cg_version" \
  --argjson budget "${budget:-0}" --argjson idle "$idle_kb" --argjson peak "$peak_kb" --argjson after "$after_kb" \
  --argjson done "${done_n:-0}" --argjson answered "${answered:-0}" --argjson ok "$ok" --argjson ooms "${ooms:-0}" \
  --argjson alive "$alive" --argjson flood_ms "$flood_ms" --argjson probe_n "$probe_n" --argjson probe_ok "$probe_ok" \
  --argjson probe_max_ms "${probe_max_ms:-0}" --argjson probe_answered "${probe_answered:-0}" --arg h2load "$line" '
  {requests: $requests, cgroup_mb: $cgroup_mb, cgroup_version: $cgroup_version, max_memory_mb: $budget,
   rss_idle_mb: ($idle / 1024 | . * 10 | round / 10), rss_peak_mb: ($peak / 1024 | . * 10 | round / 10),
   rss_after_30s_mb: ($after / 1024 | . * 10 | round / 10), flood_s: ($flood_ms / 1000),
   done: $done, answered: $answered, ok: $ok, refused: ($answered - $ok), oom_kills: $ooms, alive: ($alive == 1),
   probe_calls: $probe_n, probe_answered: $probe_answered, probe_ok: $probe_ok, probe_max_ms: $probe_max_ms,
   h2load: $h2load}'

if ((check)); then
  ((alive)) || fail "the aggregator died during the flood (OOM kills: $ooms)"
  ((ooms == 0)) || fail "the kernel OOM-killed in the cgroup $ooms times"
  ((${done_n:-0} == requests && ${answered:-0} == requests)) || fail "not every flood request was answered: $line"
  ((probe_n >= probe_s / 2 && probe_answered == probe_n && probe_max_ms <= 1000)) ||
    fail "the probe's calls were not all answered, or one took over 1 s (see probe_*)"
  ((after_kb <= 2 * idle_kb)) || fail "RSS 30 s after the flood ($after_kb kB) is over 2 x idle ($idle_kb kB)"
fi
