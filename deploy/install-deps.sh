#!/usr/bin/env bash
# Installs, with apt, what building greenlb needs on Debian 12 (and with --test, what its
# tests need too). Idempotent: installs only what is missing, and runs apt-get update only
# then. Used by deploy/demo.sh and tests/run.sh.
set -euo pipefail

build=(
  build-essential cmake pkg-config git ca-certificates
  libevent-dev libboost-context-dev libssl-dev prometheus-cpp-dev libtomlplusplus-dev
  libnghttp2-dev
)
test=(
  googletest libgtest-dev libbenchmark-dev
  clang libclang-rt-14-dev
  python3 python3-pytest python3-h11 python3-websockets python3-prometheus-client python3-yaml
  curl openssl prometheus unzip chromium
  nghttp2-client python3-h2 python3-grpcio python3-protobuf
  haproxy  # the PROXY protocol tests' real peer (tests/integration/test_proxy_protocol.py)
  fonts-dejavu-core  # the status page tests' screenshots: text in a known font, no tofu
)

wanted=("${build[@]}")
[ "${1:-}" = "--test" ] && wanted+=("${test[@]}")

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (helm and kubectl come from the npm registry) are often already there
# from another repository (nodesource's nodejs bundles npm and conflicts with Debian's npm
# package): install Debian's only when the commands are missing.
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null; then
  command -v node >/dev/null || missing+=(nodejs)
  missing+=(npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
