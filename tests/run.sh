#!/usr/bin/env bash
# Installs what the build and tests need (Debian 12, apt), builds greenlb and runs every
# test with ctest: unit, integration, examples, chart checks, bounded fuzzing.
# Idempotent: a second run installs nothing and rebuilds only what changed.
#
# Environment:
#   GREENLB_SANITIZERS=1  also run the ASan+UBSan build of every test and the TSan build
#                         of the core and balancer tests (.ci/run sets it)
#   GREENLB_CI=1          warnings are errors
#   GREENLB_JOBS=N        build parallelism (default: cores)
#   GREENLB_FUZZ_SECONDS  seconds per fuzz target (default 20; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${GREENLB_JOBS:-$(nproc)}
werror=OFF
[ "${GREENLB_CI:-0}" = 1 ] && werror=ON

log() { printf '\n=== %s (at %ss)\n' "$*" "$SECONDS"; }

# ---------------------------------------------------------------------------------------
# 1. Packages. Only Debian's archive is reachable; helm and kubectl come from the npm
#    registry (tests/chart/get_tools.sh).
bash "$root/deploy/install-deps.sh" --test

# ---------------------------------------------------------------------------------------
# 2. Build and test. One function per build flavour; each has its own build directory.
build() {  # build DIR [cmake args...]; $targets (optional) limits what is built
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DGREENLB_WERROR=$werror "$@" >/dev/null
  local t=()
  for target in ${targets:-}; do t+=(--target "$target"); done
  cmake --build "$dir" -j "$jobs" "${t[@]}"
}

status=0
run_ctest() {  # run_ctest DIR [ctest args...]
  local dir=$1; shift
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$jobs" "$@") || status=1
}

log "Release build"
build "$root/build" -DCMAKE_BUILD_TYPE=Release
log "Release tests"
run_ctest "$root/build" -LE bench  # the side-by-side benchmark runs on its own: tests/bench/compare.sh

if [ "${GREENLB_SANITIZERS:-0}" = 1 ]; then
  log "AddressSanitizer + UndefinedBehaviorSanitizer build"
  # -O1 -g1: sanitizer builds compile fast and still report file:line.
  build "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DGREENLB_SANITIZE=address,undefined -DGREENLB_BENCH=OFF
  log "ASan+UBSan tests (unit and integration)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    run_ctest "$root/build-asan" -L 'unit|integration' -LE 'nosan'

  log "ThreadSanitizer build (core, metrics and balancer)"
  targets="core_test metrics_test balancer_test" build "$root/build-tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DGREENLB_SANITIZE=thread -DGREENLB_BENCH=OFF
  log "TSan tests (core, metrics and balancer)"
  TSAN_OPTIONS=halt_on_error=1 run_ctest "$root/build-tsan" -L 'tsan'
fi

fuzz_seconds=${GREENLB_FUZZ_SECONDS:-20}
if [ "$fuzz_seconds" != 0 ] && command -v clang++ >/dev/null && [ -d "$root/tests/fuzz" ]; then
  log "libFuzzer targets (${fuzz_seconds}s each)"
  CC=clang CXX=clang++ targets="fuzz_config fuzz_http_request fuzz_http_response fuzz_chunked fuzz_proxy_header" \
    build "$root/build-fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGREENLB_FUZZ=ON -DGREENLB_BENCH=OFF -DGREENLB_WERROR=OFF
  GREENLB_FUZZ_SECONDS=$fuzz_seconds run_ctest "$root/build-fuzz" -L fuzz
fi

if [ -x "$root/tests/chart/run.sh" ]; then
  log "Helm chart and manifests"
  GREENLB_BIN="$root/build/greenlb" bash "$root/tests/chart/run.sh" || status=1
fi

log "summary"
if [ $status = 0 ]; then echo "tests/run.sh: all passed"; else echo "tests/run.sh: FAILURES"; fi
exit $status
