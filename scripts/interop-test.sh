#!/usr/bin/env bash
# The wire contract from an independent gRPC stack: starts the fast mock fleet
# and an aggregator on free loopback ports and runs tests/interop (grpc-js on
# Node's own HTTP/2, no gRPC C core) against them with node's test runner.
# The npm packages are pinned in tests/interop/package-lock.json and installed
# into tests/interop/node_modules.
#
#   scripts/interop-test.sh [BUILD_DIR]     (default build/, built here when needed)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
if [[ ! -x "$build/aggregator/aggregator" || ! -x "$build/mock_services/mock_services" ]]; then
  cmake -S . -B "$build" >/dev/null
  cmake --build "$build" -j "$(nproc)" --target aggregator mock_services >/dev/null
fi

(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

source scripts/lib/procs.sh
procs_init interop
procs_start fleet "$build/mock_services/mock_services" --fleet mock_services/fleet-fast.json --one-process
fleet=$first
jq '{listen: "127.0.0.1:0", forward_metadata: ["x-mock-fault"],
     features: [.features | to_entries | sort_by(.key)[] | {name: .key, target: .value.address, timeout_ms: 1000}]}' \
  <<<"$fleet" >"$work/aggregator.json"
procs_start aggregator "$build/aggregator/aggregator" --config "$work/aggregator.json"

FANOUT_AGG_ADDR=$(jq -r .address <<<"$first") \
  FANOUT_MOCK_ADDR=$(jq -r .features.tours.address <<<"$fleet") \
  timeout 300 node --test tests/interop/interop.test.js
