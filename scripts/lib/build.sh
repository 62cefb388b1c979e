# build.sh: configuring and building a tree, as every script that builds does it.
#
#   build_configure DIR CMAKE_ARG...    cmake -S . -B DIR CMAKE_ARG..., its report discarded
#   build_targets DIR JOBS [TARGET...]  builds TARGETs (all when none) with JOBS jobs; only
#                                       what goes wrong is printed
#
# Run from the repository root. CC=clang build_configure ... picks the compiler, as for cmake.

build_configure() {
  local dir=$1
  shift
  cmake -S . -B "$dir" "$@" >/dev/null
}

build_targets() {
  local dir=$1 jobs=$2 targets=()
  shift 2
  (($#)) && targets=(--target "$@")
  cmake --build "$dir" -j "$jobs" "${targets[@]}" >/dev/null
}
