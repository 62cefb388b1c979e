#!/usr/bin/env bash
# The main job as README gives it, as a test: scripts/run.sh answers its query
# with all 12 features, prints the two-feature query as JSON, and leaves no
# process running.
#
#   scripts/run-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "run-smoke: $*" >&2
  exit 1
}

source scripts/lib/leftovers.sh
leftovers_init "build/(aggregator/aggregator|mock_services/mock_services)"

out=$(scripts/run.sh 2>&1) || fail "scripts/run.sh failed: $out"
echo "$out"
grep -Eq "^succeeded 12  failed 0  partial no  " <<<"$out" || fail "the summary query did not get 12 of 12"
json=$(sed -n '/^{$/,/^}$/p' <<<"$out")
jq -e '.customerId == "c-42" and .succeeded == 2 and ([.results[].feature] == ["listings", "tours"])' \
  <<<"$json" >/dev/null || fail "the JSON query is not listings and tours for c-42"
[[ -z "$(leftovers)" ]] || fail "scripts/run.sh left processes running: $(leftovers)"
echo "run-smoke: ok"
