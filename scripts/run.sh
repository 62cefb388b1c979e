#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: installs what is missing,
# builds, starts the mock feature fleet and the aggregator on free loopback
# ports, issues a real aggregated query and prints the result.
#
#   scripts/run.sh [--customer ID] [--keep] [-- extra fanout-cli query flags]
#
# --keep leaves everything running (printing the addresses) until Ctrl-C.
# Ctrl-C, or the end of the script, stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

customer=c-42
keep=0
extra=()
while (($#)); do
  case "$1" in
    --customer) customer=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: scripts/run.sh [--customer ID] [--keep] [-- fanout-cli query flags]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
source scripts/lib/build.sh
build_configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo
build_targets build "$(nproc)"

source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init run

procs_start fleet build/mock_services/mock_services --fleet mock_services/fleet.json
fleet=$first
fleet_agg_config 1000 '{"http_listen": "127.0.0.1:0"}' <<<"$fleet" >"$work/aggregator.json"
procs_start aggregator build/aggregator/aggregator --config "$work/aggregator.json"
addr=$(jq -r .address <<<"$first")
http_addr=$(jq -r .http_address <<<"$first")

echo "mock fleet: $(jq -c '.features | map_values(.address)' <<<"$fleet")"
echo "aggregator: $addr"
echo "live page and HTTP/JSON: http://$http_addr/"
echo
echo "\$ fanout-cli query --addr $addr --customer $customer --format summary ${extra[*]}"
build/cli/fanout-cli query --addr "$addr" --customer "$customer" --format summary "${extra[@]}"
echo
echo "\$ fanout-cli query --addr $addr --customer $customer --features listings,tours ${extra[*]}"
build/cli/fanout-cli query --addr "$addr" --customer "$customer" --features listings,tours "${extra[@]}"

if ((keep)); then
  echo
  echo "Running; the config is $work/aggregator.json. Ctrl-C stops everything."
  wait
fi
