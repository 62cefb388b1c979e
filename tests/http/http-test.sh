#!/usr/bin/env bash
# The HTTP/JSON face from real clients (curl, then node's fetch in tests/http/http.test.js):
# every route, each error mapping, bad and oversized bodies, unknown paths and methods, SSE
# order and its final event, cancellation when the client goes away (seen at the mocks), the
# deadline, the in-flight limit, auth, request ids, CORS, trace context, the forwarded headers
# after a reload, and TLS; the JSON of GET is compared byte for byte with what `fanout-cli query`
# prints (latencies masked).
#
#   tests/http/http-test.sh BUILD_DIR       (registered in ctest as it_http)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "$1" && pwd)
cli="$build/cli/fanout-cli"

source scripts/lib/fleet.sh
source scripts/lib/procs.sh
procs_init http-test
failures=0
check() { # check NAME GOT WANT
  if [[ "$2" == "$3" ]]; then echo "ok   $1"; else echo "FAIL $1: got [$2], want [$3]"; failures=$((failures + 1)); fi
}
contains() { # contains NAME HAYSTACK NEEDLE
  if [[ "$2" == *"$3"* ]]; then echo "ok   $1"; else echo "FAIL $1: [$3] not in [${2:0:600}]"; failures=$((failures + 1)); fi
}
# The status line's code, the named header and the body of a curl -i answer.
status_of() { head -n 1 <<<"$1" | awk '{print $2}'; }
header_of() { grep -i "^$2:" <<<"$1" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }
body_of() { awk 'body {print} /^\r?$/ {body=1}' <<<"$1"; }
# Latencies differ between two calls: they are masked to compare the rest byte for byte.
mask() { sed -E 's/"(elapsedUs|latencyUs)": ?"[0-9]+"/"\1": "0"/g'; }

procs_start fleet "$build/mock_services/mock_services" --fleet mock_services/fleet-fast.json --one-process
fleet=$first
fleet_pid=$last_pid
start_agg() { # start_agg NAME EXTRA_JSON: the aggregator's gRPC address in $NAME_grpc, HTTP in $NAME_http
  fleet_agg_config 2000 "$2" <<<"$fleet" >"$work/$1.json"
  procs_start "$1" "$build/aggregator/aggregator" --config "$work/$1.json"
  printf -v "$1_grpc" '%s' "$(jq -r .address <<<"$first")"
  printf -v "$1_http" '%s' "$(jq -r .http_address <<<"$first")"
  agg_pids+=("$last_pid")
}
agg_pids=()
start_agg plain '{"http_listen": "127.0.0.1:0", "cors_origins": ["https://app.example"], "max_message_bytes": 65536,
                  "forward_metadata": ["x-mock-fault", "x-trace"]}'
FANOUT_HTTP_LISTEN=127.0.0.1:0 start_agg limited '{"max_in_flight": 1}'
scripts/gen-certs.sh "$work/certs" >/dev/null
start_agg tls "{\"http_listen\": \"localhost:0\", \"tls\": {\"cert\": \"$work/certs/server.pem\", \"key\": \"$work/certs/server.key\"}}"
start_agg mtls "{\"http_listen\": \"localhost:0\", \"tls\": {\"cert\": \"$work/certs/server.pem\", \"key\": \"$work/certs/server.key\",
  \"client_ca\": \"$work/certs/ca.pem\"}}"
scripts/gen-jwt-keys.sh "$work/keys" >/dev/null
start_agg auth "{\"http_listen\": \"127.0.0.1:0\", \"auth\": {\"issuer\": \"https://issuer.example\", \"audience\": \"fanout\",
  \"algorithms\": [\"RS256\"], \"keys\": [\"$work/keys/a.pub.pem\"]}}"
base="http://$plain_http"
window="window_start=1764547200&window_end=1765152000"
features="listings,tours,offers"

# --- routes ------------------------------------------------------------------------------
r=$(curl -sS -i "$base/v1/features")
check "features: status" "$(status_of "$r")" 200
check "features: the configured names, in order" "$(body_of "$r" | jq -c .features)" "$(jq -c '[.features[].name]' "$work/plain.json")"

r=$(curl -sS -i "$base/v1/customers/c-42/analytics?features=$features&$window")
check "GET: status" "$(status_of "$r")" 200
check "GET: content type" "$(header_of "$r" content-type)" application/json
cli_json=$("$cli" query --addr "$plain_grpc" --customer c-42 --features "$features" --window-start 1764547200 --window-end 1765152000)
check "GET: the JSON fanout-cli prints, byte for byte (latencies masked)" "$(body_of "$r" | mask)" "$(mask <<<"$cli_json")"
check "GET: three results" "$(body_of "$r" | jq '.results | length')" 3

for body in '{"customerId": "c-42", "features": ["listings", "tours", "offers"], "windowStartUnix": "1764547200", "windowEndUnix": 1765152000}' \
  '{"customer_id": "c-42", "features": ["listings", "tours", "offers"], "window_start_unix": 1764547200, "window_end_unix": "1765152000"}'; do
  r=$(curl -sS -i -X POST -H 'content-type: application/json' --data-binary "$body" "$base/v1/analytics:query")
  check "POST $(cut -c1-14 <<<"$body"): status" "$(status_of "$r")" 200
  check "POST $(cut -c1-14 <<<"$body"): the same JSON as GET" "$(body_of "$r" | mask)" "$(mask <<<"$cli_json")"
done

# --- errors --------------------------------------------------------------------------------
r=$(curl -sS -i -X POST --data-binary '{"customerId": "c-42", "colour": "red"}' "$base/v1/analytics:query")
check "unknown field: 400" "$(status_of "$r")" 400
check "unknown field: the error body" "$(body_of "$r" | jq -c '[.code, (.message | contains("colour")), .details]')" '[3,true,[]]'
r=$(curl -sS -i -X POST --data-binary '{"customerId": "c-42", "features": "tours"}' "$base/v1/analytics:query")
check "wrong type: 400" "$(status_of "$r")" 400
contains "wrong type: names the field" "$(body_of "$r")" features
r=$(curl -sS -i -X POST --data-binary '{"customerId": ' "$base/v1/analytics:query")
check "bad JSON: 400" "$(status_of "$r")" 400
contains "bad JSON: says where" "$(body_of "$r")" "request body"
r=$(curl -sS -i -X POST --data-binary '{"customerId": "a", "customerId": "b"}' "$base/v1/analytics:query")
check "duplicate key: 400" "$(status_of "$r")" 400
head -c 70000 /dev/zero | tr '\0' 'x' >"$work/big"
r=$(curl -sS -i -X POST --data-binary @"$work/big" "$base/v1/analytics:query")
check "oversized body: 413" "$(status_of "$r")" 413
check "oversized body: RESOURCE_EXHAUSTED" "$(body_of "$r" | jq .code)" 8
r=$(curl -sS -i -X POST -H 'transfer-encoding: chunked' --data-binary @"$work/big" "$base/v1/analytics:query")
check "oversized chunked body: 413" "$(status_of "$r")" 413
r=$(curl -sS -i "$base/v2/nothing")
check "unknown path: 404" "$(status_of "$r")" 404
check "unknown path: NOT_FOUND" "$(body_of "$r" | jq .code)" 5
r=$(curl -sS -i -X DELETE "$base/v1/customers/c-42/analytics")
check "wrong method: 405" "$(status_of "$r")" 405
check "wrong method: Allow" "$(header_of "$r" allow)" "GET, OPTIONS"
r=$(curl -sS -i "$base/v1/analytics:query")
check "GET on the POST route: 405" "$(status_of "$r")" 405
r=$(curl -sS -i "$base/v1/customers/c-42/analytics?features=tours&colour=red")
check "unknown query parameter: 400" "$(status_of "$r")" 400
contains "unknown query parameter: named" "$(body_of "$r")" colour
r=$(curl -sS -i "$base/v1/customers/c-42/analytics?policy=SOMETIMES")
check "bad policy: 400" "$(status_of "$r")" 400
contains "bad policy: named" "$(body_of "$r")" "query parameter policy"
r=$(curl -sS -i "$base/v1/customers/c-42/analytics?features=tours&window_start=1765152000&window_end=1764547200")
check "window backwards: 400 from the shared validation" "$(status_of "$r")" 400
r=$(curl -sS -i "$base/v1/customers/c-42/analytics?features=nope")
check "unknown feature: a result of kind UNKNOWN_FEATURE, as on gRPC" "$(body_of "$r" | jq -r '.results[0].error.kind')" UNKNOWN_FEATURE
r=$(curl -sS -i -H 'x-mock-fault: tours=error:UNAVAILABLE' "$base/v1/customers/c-42/analytics?features=$features&policy=FAIL_FAST")
check "FAIL_FAST failure: 503" "$(status_of "$r")" 503
check "FAIL_FAST failure: the failed feature's header" "$(header_of "$r" fanout-failed-feature)" tours
check "FAIL_FAST failure: UNAVAILABLE" "$(body_of "$r" | jq .code)" 14
r=$(curl -sS -i -H 'x-mock-fault: tours=error:UNAVAILABLE' "$base/v1/customers/c-42/analytics?features=$features")
check "ALLOW_PARTIAL failure: 200" "$(status_of "$r")" 200
check "ALLOW_PARTIAL failure: the error in the response" "$(body_of "$r" | jq -c '[.partial, .failed, .errors[0].feature]')" '[true,1,"tours"]'
r=$(curl -sS -i -H 'x-mock-fault: tours=hang' "$base/v1/customers/c-42/analytics?features=$features&policy=FAIL_FAST&timeout_ms=300")
check "deadline (timeout_ms): 504" "$(status_of "$r")" 504
check "deadline: DEADLINE_EXCEEDED" "$(body_of "$r" | jq .code)" 4
r=$(curl -sS -i -H 'x-mock-fault: tours=hang' -H 'grpc-timeout: 300m' "$base/v1/customers/c-42/analytics?features=$features&policy=FAIL_FAST")
check "deadline (grpc-timeout header): 504" "$(status_of "$r")" 504
r=$(curl -sS -i -H 'x-timeout-ms: soon' "$base/v1/customers/c-42/analytics")
check "bad timeout header: 400" "$(status_of "$r")" 400
curl -sS -o /dev/null -H 'x-mock-fault: tours=hang' "http://$limited_http/v1/customers/c-1/analytics?features=tours&timeout_ms=2000" &
hang=$!
sleep 0.5
r=$(curl -sS -i "http://$limited_http/v1/customers/c-2/analytics?features=tours")
check "over max_in_flight: 429" "$(status_of "$r")" 429
check "over max_in_flight: RESOURCE_EXHAUSTED" "$(body_of "$r" | jq .code)" 8
wait "$hang"

# --- auth: the same bearer tokens and codes as the gRPC face -----------------------------------
r=$(curl -sS -i "http://$auth_http/v1/customers/c-42/analytics?features=tours")
check "no token: 401" "$(status_of "$r")" 401
token=$(/usr/bin/python3 scripts/mint-token.py token --key "$work/keys/a.pem" --kid a --customers c-42)
r=$(curl -sS -i -H "authorization: Bearer $token" "http://$auth_http/v1/customers/c-7/analytics?features=tours")
check "another customer: 403" "$(status_of "$r")" 403
r=$(curl -sS -i -H "authorization: Bearer $token" "http://$auth_http/v1/customers/c-42/analytics?features=tours")
check "a good token: 200" "$(status_of "$r")" 200

# --- request id, CORS ----------------------------------------------------------------------
r=$(curl -sS -i -H 'x-request-id: req-123' "$base/v1/customers/c-42/analytics?features=tours")
check "x-request-id: echoed" "$(header_of "$r" x-request-id)" req-123
contains "x-request-id: in the log line" "$(grep '"request_id":"req-123"' "$work/plain.log")" '"face":"http"'
r=$(curl -sS -i "$base/v1/customers/c-42/analytics?features=tours")
check "x-request-id: made when absent" "$(header_of "$r" x-request-id | wc -c)" 33
r=$(curl -sS -i -H 'origin: https://app.example' "$base/v1/customers/c-42/analytics?features=tours")
check "CORS: allowed origin" "$(header_of "$r" access-control-allow-origin)" https://app.example
r=$(curl -sS -i -H 'origin: https://evil.example' "$base/v1/customers/c-42/analytics?features=tours")
check "CORS: other origin gets no header" "$(header_of "$r" access-control-allow-origin)" ""
r=$(curl -sS -i -X OPTIONS -H 'origin: https://app.example' -H 'access-control-request-method: POST' "$base/v1/analytics:query")
check "CORS preflight: 204" "$(status_of "$r")" 204
contains "CORS preflight: methods" "$(header_of "$r" access-control-allow-methods)" POST
r=$(curl -sS -i -X OPTIONS -H 'origin: https://evil.example' "$base/v1/analytics:query")
check "CORS preflight, other origin: 403" "$(status_of "$r")" 403
r=$(curl -sS -i -H 'origin: https://app.example' "http://$limited_http/v1/features")
check "CORS: off by default" "$(header_of "$r" access-control-allow-origin)" ""
r=$(curl -sS -i -X OPTIONS -H 'origin: https://app.example' -H 'access-control-request-method: GET' "$base/v1/features")
contains "CORS preflight: a page may send its trace context" "$(header_of "$r" access-control-allow-headers)" \
  "traceparent, tracestate"

# --- trace context: the caller's traceparent is honoured, as on the gRPC face ------------------
r=$(curl -sS -i -H 'x-request-id: http-trace' -H 'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' \
  "$base/v1/customers/c-42/analytics?features=tours")
check "traceparent: 200" "$(status_of "$r")" 200
check "traceparent: the request keeps the caller's trace, its span the parent" \
  "$(grep '"request_id":"http-trace"' "$work/plain.log" | jq -r '[.trace_id, .parent_span_id] | join(" ")')" \
  "0af7651916cd43dd8448eb211c80319c b7ad6b7169203331"

# --- reload: the headers that go on to the features are the newest config's --------------------
start_agg reload '{"http_listen": "127.0.0.1:0", "forward_metadata": []}'
reload_pid=$last_pid
reload_url="http://$reload_http/v1/customers/c-42/analytics?features=tours"
r=$(curl -sS -i -H 'x-mock-fault: tours=error:PERMISSION_DENIED' "$reload_url")
check "reload: before, x-mock-fault is not forwarded" "$(body_of "$r" | jq -c '[.succeeded // 0, .failed // 0]')" '[1,0]'
fleet_agg_config 2000 '{"http_listen": "127.0.0.1:0"}' <<<"$fleet" >"$work/reload.json"
kill -HUP "$reload_pid"
for _ in $(seq 50); do grep -q '"event":"config_reloaded"' "$work/reload.log" && break; sleep 0.1; done
sleep 0.4 # the workers switch on their next turn (it_reload waits as long)
r=$(curl -sS -i -H 'x-mock-fault: tours=error:PERMISSION_DENIED' "$reload_url")
check "reload: after, x-mock-fault is forwarded" "$(body_of "$r" | jq -c '[.succeeded // 0, .failed // 0]')" '[0,1]'
r=$(curl -sS -i -H $'x-mock-fault: caf\xc3\xa9' "$reload_url")
check "reload: a forwarded header gRPC cannot carry: 400" "$(status_of "$r")" 400
check "reload: ... naming it" "$(body_of "$r" | jq -r .message)" "header x-mock-fault: not printable ASCII"
r=$(curl -sS -i -H $'x-other: caf\xc3\xa9' "$reload_url")
check "reload: such a header not forwarded is no matter" "$(status_of "$r")" 200

# --- Server-Sent Events ---------------------------------------------------------------------
r=$(curl -sS -i -N "$base/v1/customers/c-42/analytics:stream?features=$features&$window")
check "SSE: status" "$(status_of "$r")" 200
check "SSE: content type" "$(header_of "$r" content-type)" text/event-stream
check "SSE: no caching" "$(header_of "$r" cache-control)" no-cache
events=$(body_of "$r" | grep '^event: ' | cut -d' ' -f2 | tr '\n' ' ')
check "SSE: three results, then done" "$events" "result result result done "
check "SSE: ids 1..3" "$(body_of "$r" | grep '^id: ' | cut -d' ' -f2 | tr '\n' ' ')" "1 2 3 "
done_json=$(body_of "$r" | grep '^data: ' | tail -n 1 | cut -d' ' -f2-)
check "SSE: done has no results" "$(jq 'has("results")' <<<"$done_json")" false
check "SSE: done's totals are the unary reply's" "$(jq -c '[.customerId, .totals, .succeeded, .failed]' <<<"$done_json")" \
  "$(jq -c '[.customerId, .totals, .succeeded, .failed]' <<<"$cli_json")"
check "SSE: results are the unary reply's (any order)" \
  "$(body_of "$r" | grep '^data: ' | head -n 3 | cut -d' ' -f2- | jq -s -c 'sort_by(.index) | map(del(.latencyUs))')" \
  "$(jq -c '.results | map(del(.latencyUs))' <<<"$cli_json")"
r=$(curl -sS -N -H 'x-mock-fault: offers=delay:400ms,tours=error:INTERNAL' "$base/v1/customers/c-42/analytics:stream?features=$features&policy=FAIL_FAST")
check "SSE FAIL_FAST: the error is the last event" "$(grep '^event: ' <<<"$r" | tail -n 1)" "event: error"
check "SSE FAIL_FAST: its code and feature" "$(grep '^data: ' <<<"$r" | tail -n 1 | cut -d' ' -f2- | jq -c '[.code, (.message | startswith("feature tours"))]')" '[13,true]'
r=$(curl -sS -i -N "$base/v1/customers/c-42/analytics:stream?features=tours&window_start=1765152000&window_end=1764547200")
check "SSE bad request: a JSON error before the stream" "$(status_of "$r")" 400

# --- cancellation: the client goes away, the feature calls are cancelled at the mocks ------------
curl -sS -N --max-time 1 -H 'x-request-id: gone-stream' -H 'x-mock-fault: leads=hang' \
  "$base/v1/customers/c-42/analytics:stream?features=listings,leads" >"$work/gone.txt" 2>/dev/null || true
check "cancellation: the first result came before the client left" "$(grep -c '^event: result' "$work/gone.txt")" 1
curl -sS --max-time 1 -H 'x-request-id: gone-unary' -H 'x-mock-fault: leads=hang' \
  "$base/v1/customers/c-42/analytics?features=leads" >/dev/null 2>&1 || true
sleep 0.5
contains "cancellation (stream): logged CANCELLED" "$(grep '"request_id":"gone-stream"' "$work/plain.log")" '"status":"CANCELLED"'
contains "cancellation (unary): logged CANCELLED" "$(grep '"request_id":"gone-unary"' "$work/plain.log")" '"status":"CANCELLED"'

# --- TLS -----------------------------------------------------------------------------------------
r=$(curl -sS -i --cacert "$work/certs/ca.pem" "https://$tls_http/v1/customers/c-42/analytics?features=tours")
check "TLS: 200 over HTTPS with the gRPC listener's certificate" "$(status_of "$r")" 200
if curl -sS -o /dev/null "https://$tls_http/v1/features" 2>/dev/null; then tls_unverified=accepted; else tls_unverified=refused; fi
check "TLS: an untrusted certificate is refused by curl" "$tls_unverified" refused
# Mutual TLS: only a client certificate signed by client_ca gets an answer.
mtls_url="https://$mtls_http/v1/customers/c-42/analytics?features=tours"
r=$(curl -sS -i --cacert "$work/certs/ca.pem" --cert "$work/certs/client.pem" --key "$work/certs/client.key" "$mtls_url")
check "mTLS: 200 with a client certificate from client_ca" "$(status_of "$r")" 200
check "mTLS: the reply" "$(body_of "$r" | jq -r '.results[0].feature')" tours
r=$(curl -sS -i --cacert "$work/certs/ca.pem" "$mtls_url" 2>&1 || true)
check "mTLS: 401 without a client certificate" "$(status_of "$r")" 401
check "mTLS: UNAUTHENTICATED without one" "$(body_of "$r" | jq -r .code)" 16
r=$(curl -sS -i --cacert "$work/certs/ca.pem" --cert "$work/certs/other-client.pem" --key "$work/certs/other-client.key" \
  "$mtls_url" 2>&1 || true)
check "mTLS: 401 with a certificate from another CA" "$(status_of "$r")" 401

# --- node's fetch -------------------------------------------------------------------------------
FANOUT_HTTP=$base FANOUT_HTTP_GRPC=$plain_grpc FANOUT_CLI=$cli timeout 120 node --test tests/http/http.test.js ||
  failures=$((failures + 1))

sleep 0.3
contains "cancellation (node's AbortController): logged CANCELLED" "$(grep '"request_id":"node-abort"' "$work/plain.log")" '"status":"CANCELLED"'

# --- SIGTERM: requests in flight get the grace period, then UNAVAILABLE -------------------------------
start_agg drain '{"http_listen": "127.0.0.1:0", "shutdown_grace_ms": 500}'
curl -sS -N -H 'x-mock-fault: leads=hang' "http://$drain_http/v1/customers/c-1/analytics:stream?features=listings,leads" \
  >"$work/drain-stream.txt" &
drain_stream=$!
curl -sS -i -H 'x-mock-fault: leads=hang' "http://$drain_http/v1/customers/c-1/analytics?features=leads" >"$work/drain-unary.txt" &
drain_unary=$!
sleep 0.5
kill -TERM "${agg_pids[-1]}"
wait "$drain_stream" "$drain_unary" || true
check "drain: the stream ends with UNAVAILABLE" "$(grep '^data: ' "$work/drain-stream.txt" | tail -n 1 | cut -d' ' -f2- | jq .code)" 14
check "drain: the unary request gets 503" "$(status_of "$(cat "$work/drain-unary.txt")")" 503

# --- the gRPC face still serves; the mocks saw the cancellations -----------------------------------
check "gRPC face still serves" "$("$cli" query --addr "$plain_grpc" --customer c-42 --features tours | jq .succeeded)" 1
kill -TERM "$fleet_pid"
for _ in $(seq 100); do kill -0 "$fleet_pid" 2>/dev/null || break; sleep 0.1; done
leads_cancelled=$(grep '"event":"stats"' "$work/fleet.log" | jq -r 'select(.feature == "leads") | .cancelled')
check "cancellation: the mock saw both leads calls cancelled" "$((leads_cancelled >= 2))" 1

# --- every aggregator drains and exits 0, with nothing from the sanitizers -----------------------------
for pid in "${agg_pids[@]}"; do
  kill -TERM "$pid" 2>/dev/null || true
  rc=0
  wait "$pid" || rc=$?
  check "aggregator $pid: exit status after SIGTERM" "$rc" 0
done
check "no sanitizer report in any log" "$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work"/*.log || true)" ""

if ((failures > 0)); then echo "http-test: $failures failed"; exit 1; fi
echo "http-test: all passed"
