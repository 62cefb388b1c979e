#!/usr/bin/env bash
# Runs every test: installs what is missing, builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and warnings as errors, then runs ctest (unit,
# integration and scenario tests; integration tests start their own processes
# on loopback), then the fuzz targets, a valgrind memcheck run, the main job
# (scripts/run-smoke.sh), the contract from grpc-js (scripts/interop-test.sh),
# the live page in headless chromium (scripts/web-test.sh),
# the benchmark scripts on short runs
# (scripts/bench-smoke.sh) and the deployment tests (network namespaces, the
# container image and compose stack under podman).
#
#   scripts/test.sh [ctest arguments...]     e.g. scripts/test.sh -R runner
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# The C sources are as .clang-format has them (`clang-format -i FILE` fixes one).
git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

build=${FANOUT_TEST_BUILD_DIR:-build-asan}
source scripts/lib/build.sh
build_configure "$build" -DCMAKE_BUILD_TYPE=Debug -DFANOUT_SANITIZE=ON -DFANOUT_WERROR=ON
# Not build_targets: here the compiler's progress is worth seeing.
cmake --build "$build" -j "$(nproc)"

# Leaks are errors; UBSan stops at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd "$build" && ctest --output-on-failure --timeout 600 "$@")

# Full runs only (no ctest arguments): the fuzz targets (their regression inputs, then
# FANOUT_FUZZ_SECONDS of fuzzing each), the real processes under valgrind memcheck, the
# README's main job, the contract from another gRPC stack, the live page in a browser, the benchmark scripts on short
# runs, and the deployment tests.
if (($# == 0)); then
  scripts/fuzz.sh "${FANOUT_FUZZ_SECONDS:-30}"
  scripts/valgrind-test.sh
  scripts/run-smoke.sh
  scripts/interop-test.sh "$build"
  scripts/web-test.sh "$build"
  scripts/bench-smoke.sh
  # The memory flood in a 256 MiB cgroup (as root; a skip where none can be made), Release.
  scripts/bench-flood.sh --check --cgroup 256 --requests 50000 || (($? == 77))
  # The deployment: manifests checked offline, several hosts in network namespaces (root),
  # and the real image and compose stack under podman.
  python3 deploy/k8s/check.py "$build/aggregator/aggregator"
  scripts/netns-test.sh "$build"
  FANOUT_CLI="$build/cli/fanout-cli" scripts/container-test.sh
fi
