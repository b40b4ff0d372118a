#!/usr/bin/env bash
# greenlb vs HAProxy vs nginx terminating TLS (ECDSA P-256), side by side, one worker each.
# Builds greenlb Release (build-rel/) if it is missing, then runs tls_compare.py (which
# reuses compare.py and installs the same packages with apt).
#   tests/bench/tls_compare.sh [--quick] [--reps N] [--out DIR] ...   (tls_compare.py --help)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ " $* " != *" --greenlb "* && ! -x "$root/build-rel/greenlb" ]]; then
  bash "$root/deploy/install-deps.sh"
  cmake -S "$root" -B "$root/build-rel" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-rel" -j "$(nproc)" --target greenlb
fi
exec /usr/bin/python3 "$root/tests/bench/tls_compare.py" "$@"
