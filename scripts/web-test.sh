#!/usr/bin/env bash
# The live page in a real browser: starts the fast mock fleet (every feature answering after its
# own fixed delay, so results arrive one by one; offers failing every call with UNAVAILABLE) and
# an aggregator with its HTTP listener on free loopback ports, and runs tests/web (Debian's
# chromium, headless, through puppeteer-core) against them with node's test runner. The
# screenshots at desktop and phone width land in BUILD_DIR/web-screenshots/.
# The npm packages are pinned in tests/web/package-lock.json and installed into
# tests/web/node_modules.
#
#   scripts/web-test.sh [BUILD_DIR]     (default build/, built here when needed)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
if [[ ! -x "$build/aggregator/aggregator" || ! -x "$build/mock_services/mock_services" ||
      ! -x "$build/cli/fanout-cli" ]]; then
  source scripts/lib/build.sh
  build_configure "$build"
  build_targets "$build" "$(nproc)" aggregator mock_services fanout-cli
fi

(cd tests/web && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init web
failed=offers
jq --arg failed "$failed" '.features |= [to_entries[] | .value + {profile: (
      {latency_ms: (5 * (.key + 1))}
      + if .value.name == $failed then {error_rate: 1, error_code: "UNAVAILABLE"} else {} end)}]' \
  mock_services/fleet-fast.json >"$work/fleet.json"
procs_start fleet "$build/mock_services/mock_services" --fleet "$work/fleet.json" --one-process
fleet=$first

# The failing feature's circuit breaker is off, so every call reaches it and fails the same way
# (the page's query and fanout-cli's alike).
fleet_agg_config 5000 '{"http_listen": "127.0.0.1:0"}' <<<"$fleet" |
  jq --arg failed "$failed" '.features |= map(if .name == $failed then . + {breaker: false} else . end)' \
    >"$work/aggregator.json"
if ! check=$("$build/aggregator/aggregator" --config "$work/aggregator.json" --check-config 2>&1); then
  if grep -q 'http_listen: unknown key' <<<"$check"; then
    echo "web-test: SKIPPED: this aggregator has no HTTP listener (http_listen, issue #23 part 1)," \
         "so the page cannot be served" >&2
    exit 0
  fi
  echo "$check" >&2
  exit 1
fi
procs_start aggregator "$build/aggregator/aggregator" --config "$work/aggregator.json"

FANOUT_WEB_URL="http://$(jq -r .http_address <<<"$first")/" FANOUT_AGG_ADDR=$(jq -r .address <<<"$first") \
  FANOUT_CLI="$build/cli/fanout-cli" FANOUT_FEATURES=$(jq -r '[.features[].name] | join(",")' "$work/aggregator.json") \
  FANOUT_FAILED_FEATURE=$failed FANOUT_SCREENSHOTS="$build/web-screenshots" FANOUT_AGG_LOG="$work/aggregator.log" \
  timeout 300 node --test tests/web/page.test.js
