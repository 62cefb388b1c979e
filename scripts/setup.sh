#!/usr/bin/env bash
# Installs the Debian 12 packages that fanout's build, tests and scripts need.
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libgrpc-dev grpc-proto
  protobuf-c-compiler libprotobuf-c-dev protobuf-compiler libprotobuf-dev
  libjansson-dev libssl-dev openssl libcmocka-dev libmicrohttpd-dev libjemalloc-dev prometheus
  jq procps iproute2 bsdextrautils curl nghttp2-client util-linux
  clang clang-format libclang-rt-14-dev valgrind python3-yaml python3-jwt
  chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

# Node and npm for the interop test (tests/interop): Debian's, unless a Node with npm is already here.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
