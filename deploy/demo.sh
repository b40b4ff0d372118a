#!/usr/bin/env bash
# The first quick-start command: installs what the build needs (apt), builds the Release
# binary at build/greenlb, and runs `greenlb demo` (three demo upstreams on
# 127.0.0.1:9001-9003 behind the proxy on 127.0.0.1:8080, admin on 127.0.0.1:9901).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target greenlb
exec build/greenlb demo
