# fleet.sh: an aggregator config for a running mock fleet, from the fleet's first line (the JSON
# object `mock_services --fleet` prints: {"features": {NAME: {"address": ..., "pid": ...}}}).
#
#   fleet_agg_config TIMEOUT_MS [EXTRA_JSON] <FLEET_LINE
#       prints {listen: "127.0.0.1:0", forward_metadata: ["x-mock-fault"], features: [...]}
#       with every feature of the fleet, in its order, as {name, target, timeout_ms: TIMEOUT_MS};
#       EXTRA_JSON (an object) adds or replaces top-level keys. A caller that wants fewer
#       features, or another order, edits .features afterwards.

fleet_agg_config() {
  jq --argjson timeout "$1" --argjson extra "${2:-"{}"}" '
    {listen: "127.0.0.1:0", forward_metadata: ["x-mock-fault"],
     features: [.features | to_entries[] | {name: .key, target: .value.address, timeout_ms: $timeout}]}
    + $extra'
}
