#!/usr/bin/env bash
# The wire contract from an independent gRPC stack: starts the fast mock fleet
# and three aggregators on free loopback ports (plaintext, TLS, mutual TLS with
# scripts/gen-certs.sh's certificates) and runs tests/interop (grpc-js on
# Node's own HTTP/2 and TLS, no gRPC C core) against them with node's test runner.
# The npm packages are pinned in tests/interop/package-lock.json and installed
# into tests/interop/node_modules.
#
#   scripts/interop-test.sh [BUILD_DIR]     (default build/, built here when needed)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
if [[ ! -x "$build/aggregator/aggregator" || ! -x "$build/mock_services/mock_services" ]]; then
  source scripts/lib/build.sh
  build_configure "$build"
  build_targets "$build" "$(nproc)" aggregator mock_services
fi

(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init interop
procs_start fleet "$build/mock_services/mock_services" --fleet mock_services/fleet-fast.json --one-process
fleet=$first
scripts/gen-certs.sh "$work/certs"

# start_aggregator NAME TLS: an aggregator on the fleet, with the "tls" object TLS; its address in $NAME_addr.
# The early answer comes 50 ms ahead of the client's deadline, not the default 5: the sanitized
# build on a busy 2-core machine can be held up longer than 5 ms, and the answer would come late
# (the early answer itself is what the test checks; scripts/bench-degrade.sh measures how often it
# comes in time).
start_aggregator() {
  fleet_agg_config 1000 "$(jq -n --argjson tls "$2" '{deadline_reserve_ms: 50} + if $tls == null then {} else {tls: $tls} end')" <<<"$fleet" |
    jq '.features |= sort_by(.name)' >"$work/$1.json"
  procs_start "$1" "$build/aggregator/aggregator" --config "$work/$1.json"
  printf -v "$1_addr" '%s' "$(jq -r .address <<<"$first")"
}
server_tls="{\"cert\": \"$work/certs/server.pem\", \"key\": \"$work/certs/server.key\"}"
start_aggregator plain null
start_aggregator tls "$server_tls"
start_aggregator mtls "$(jq -c --arg ca "$work/certs/ca.pem" '. + {client_ca: $ca}' <<<"$server_tls")"

FANOUT_AGG_ADDR=$plain_addr FANOUT_TLS_AGG_ADDR=$tls_addr FANOUT_MTLS_AGG_ADDR=$mtls_addr \
  FANOUT_CERTS=$work/certs FANOUT_MOCK_ADDR=$(jq -r .features.tours.address <<<"$fleet") \
  timeout 300 node --test tests/interop/interop.test.js
