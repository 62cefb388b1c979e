#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang in build-fuzz, replays each target's
# regression inputs (fuzz/regressions/TARGET/, earlier crashes, run once without fuzzing), then
# fuzzes each target for a bounded time, one at a time, starting from its seed corpus
# (fuzz/corpus/TARGET/). New inputs go to a scratch directory, never into the repository.
# Prints the executions per target; exits non-zero when any target crashes, leaks, hangs or
# breaks one of its checks, and keeps the offending input under build-fuzz/artifacts/.
#
#   scripts/fuzz.sh [SECONDS]                          seconds of fuzzing per target (default 30)
#   FANOUT_FUZZ_TARGETS="fuzz_config" scripts/fuzz.sh 300    some targets only
#
# Needs clang and libFuzzer: Debian's clang and libclang-rt-14-dev (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS]" >&2
  exit 2
fi
targets=(${FANOUT_FUZZ_TARGETS:-fuzz_config fuzz_mock_fault fuzz_validate fuzz_reply_reduce fuzz_jwt fuzz_traceparent fuzz_http_request})
build=build-fuzz

# clang prints the bare name back when it has no such library.
if ! command -v clang >/dev/null ||
  [[ ! -f "$(clang -print-file-name="libclang_rt.fuzzer-$(uname -m).a")" ]]; then
  echo "fuzz: clang with libFuzzer is missing: apt-get install clang libclang-rt-14-dev" >&2
  exit 2
fi

jobs=$(nproc)
((jobs > 2)) && jobs=2
source scripts/lib/build.sh
CC=clang build_configure "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFANOUT_FUZZ=ON
build_targets "$build" "$jobs" fanout_fuzz

# UBSan aborts anyway (-fno-sanitize-recover); ask for its stack. LeakSanitizer is libFuzzer's.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

work=$(mktemp -d /tmp/fanout-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
artifacts=$build/artifacts
mkdir -p "$artifacts"

failed=0
summary=()
for t in "${targets[@]}"; do
  bin=$build/fuzz/$t
  log=$work/$t.log

  regressions=()
  if [[ -d fuzz/regressions/$t ]]; then
    mapfile -t regressions < <(find "fuzz/regressions/$t" -type f | sort)
  fi
  if ((${#regressions[@]} > 0)); then
    if ! "$bin" -timeout=10 -artifact_prefix="$artifacts/$t-" "${regressions[@]}" >"$log" 2>&1; then
      echo "fuzz: $t fails on a regression input:" >&2
      grep -E "^Running:|ERROR|SUMMARY" "$log" | tail -n 20 >&2
      summary+=("$t: FAILED on regression inputs")
      failed=1
      continue
    fi
  fi

  # The first directory receives new inputs; the seeds are only read.
  mkdir -p "$work/corpus/$t"
  rc=0
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$t-" "$work/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log" | tail -n 1)
  # The last status line: edges covered ("cov") and the corpus it ended with ("corp").
  progress=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1)
  if ((rc != 0)); then
    echo "fuzz: $t failed (exit $rc); the input is in $artifacts/:" >&2
    grep -E "ERROR|SUMMARY|Test unit written|^    #[0-9]+ " "$log" | head -n 30 >&2
    summary+=("$t: FAILED after ${execs:-?} executions")
    failed=1
  else
    summary+=("$t: ok, ${execs:-?} executions in ${seconds} s ($progress), ${#regressions[@]} regression inputs")
  fi
done

printf 'fuzz: %s\n' "${summary[@]}"
exit "$failed"
