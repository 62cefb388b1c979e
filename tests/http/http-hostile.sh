#!/usr/bin/env bash
# Hostile HTTP input (tests/http/http-hostile.py) against an aggregator with a fleet, then
# checks that the aggregator drains and exits 0 with nothing from the sanitizers.
#
#   tests/http/http-hostile.sh BUILD_DIR       (registered in ctest as it_http_hostile)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "$1" && pwd)
source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init http-hostile
procs_start fleet "$build/mock_services/mock_services" --fleet mock_services/fleet-fast.json --one-process
fleet_agg_config 2000 '{"http_listen": "127.0.0.1:0", "log_level": "error"}' <<<"$first" >"$work/agg.json"
# A descriptor limit of its own, so that the connection limit (half of it) is what refuses the flood.
procs_start agg bash -c "ulimit -n 4096 && exec '$build/aggregator/aggregator' --config '$work/agg.json'"
agg_pid=$last_pid
python3 tests/http/http-hostile.py "$(jq -r .http_address <<<"$first")" "$(jq -r .address <<<"$first")" \
  "$build/cli/fanout-cli"
kill -TERM "$agg_pid"
wait "$agg_pid"
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/agg.log"; then exit 1; fi
echo "http-hostile: all passed"
