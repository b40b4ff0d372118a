#!/usr/bin/env bash
# greenlb vs HAProxy vs nginx as a reverse proxy, side by side, one worker each.
# Builds greenlb Release (build-rel/) if it is missing, then runs compare.py, which installs
# its own packages (wrk, haproxy, nginx-light, linux-perf, valgrind) with apt.
#   tests/bench/compare.sh [--quick] [--reps N] [--out DIR] ...   (compare.py --help)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ " $* " != *" --greenlb "* && ! -x "$root/build-rel/greenlb" ]]; then
  bash "$root/deploy/install-deps.sh"
  cmake -S "$root" -B "$root/build-rel" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-rel" -j "$(nproc)" --target greenlb
fi
exec /usr/bin/python3 "$root/tests/bench/compare.py" "$@"
