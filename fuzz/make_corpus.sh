#!/usr/bin/env bash
# Regenerates the binary seeds of fuzz_validate and fuzz_reply_reduce from text-format protos
# (protoc --encode), so they follow the protos when those change. The text seeds of the other
# targets are written by hand. Run from anywhere; it overwrites fuzz/corpus/{validate,reply}*.
set -euo pipefail
cd "$(dirname "$0")"
protos=../protos
request=fanout.v1.AnalyticsRequest
report=fanout.feature.v1.UsageReport

# encode TYPE TEXT: the binary message for a text-format one, on stdout.
encode() {
  protoc --proto_path="$protos" --encode="$1" fanout/v1/aggregator.proto <<<"$2"
}

# record TAG BYTES_FILE: one fuzz_reply_reduce record (tag, little-endian 16-bit length, bytes).
record() {
  local n
  n=$(stat -c %s "$2")
  printf "\\x$(printf %02x "$1")\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))"
  cat "$2"
}

v=corpus/fuzz_validate
mkdir -p "$v"
encode $request 'customer_id: "c-42"' >"$v/every-feature.bin"
encode $request 'customer_id: "c-42" features: "listings" features: "tours" failure_policy: ALLOW_PARTIAL
                 window_start_unix: 1700000000 window_end_unix: 1700604800' >"$v/two-features.bin"
encode $request 'customer_id: "c-7" features: "tours" features: "nope" features: "leads" failure_policy: FAIL_FAST' \
  >"$v/unknown-feature.bin"
encode $request 'customer_id: "c-1" features: "offers" features: "leads" features: "offers"' >"$v/duplicate.bin"
encode $request 'customer_id: "c-1" features: "a" features: "b" features: "c" features: "d" features: "e"
                 features: "f" features: "g" features: "h" features: "i"' >"$v/too-many.bin"
encode $request 'customer_id: "c-1" window_start_unix: 1700000000 window_end_unix: 1600000000' >"$v/window-backwards.bin"
encode $request 'customer_id: "c-1" window_start_unix: 0 window_end_unix: 31708800' >"$v/window-too-long.bin"
encode $request 'customer_id: "" features: ""' >"$v/empty.bin"
# An enum value no version of the proto defines: proto3 enums are open.
printf '\x0a\x01x\x18\x07' >"$v/unknown-policy.bin"

r=corpus/fuzz_reply_reduce
mkdir -p "$r"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
encode $report 'feature: "listings" customer_id: "c-42" events: 30 active_users: 3 last_used_unix: 1700600000
                daily { day_unix: 1700006400 events: 10 } daily { day_unix: 1700092800 events: 20 }
                metrics { key: "ctr" value: 0.25 }' >"$tmp/listings"
encode $report 'feature: "tours" customer_id: "c-42" events: 7 active_users: 5 last_used_unix: 1700500000
                daily { day_unix: 1700092800 events: 3 } daily { day_unix: 1700006400 events: 4 }' >"$tmp/tours"
encode $report 'events: 9223372036854775807 daily { day_unix: 1 events: 9223372036854775807 }' >"$tmp/huge"
encode $report '' >"$tmp/empty"
printf 'not a usage report \xff\xff\xff' >"$tmp/malformed"
printf 'connection reset by peer' >"$tmp/message"
: >"$tmp/none"
{ record 0 "$tmp/listings"; record 0 "$tmp/tours"; } >"$r/two-ok.bin"
{ record 0 "$tmp/listings"; record 2 "$tmp/message"; record 0 "$tmp/malformed"; record 3 "$tmp/none"; } \
  >"$r/mixed.bin"
{ record 0 "$tmp/huge"; record 1 "$tmp/huge"; record 0 "$tmp/tours"; } >"$r/saturating.bin"
{ record 58 "$tmp/message"; record 18 "$tmp/message"; record 6 "$tmp/message"; } >"$r/all-failed.bin"
{ record 0 "$tmp/empty"; } >"$r/empty-report.bin"
: >"$r/no-features.bin"
