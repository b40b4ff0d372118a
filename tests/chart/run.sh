#!/usr/bin/env bash
# Checks the Helm chart (helm/greenlb), the plain manifests (deploy/kubernetes) and the
# container image recipe (deploy/Dockerfile): lint, render, offline Kubernetes schema
# validation, greenlb --check of every rendered config, values.schema.json refusals,
# assertions on the rendered objects. Prints PASS/FAIL/SKIP per check and a summary;
# exits non-zero on any failure. tests/run.sh calls it with GREENLB_BIN=build/greenlb.
#
# Environment:
#   GREENLB_BIN        the greenlb binary (default build/greenlb); checks needing it
#                      print SKIP when it does not exist
#   GREENLB_TOOLS_DIR  cache for helm, kubectl and the validator (default .tools/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${GREENLB_TOOLS_DIR:-$root/.tools}
start=$(date +%s)

if ! bash "$here/get_tools.sh" "$tools"; then
  echo "FAIL fetching helm, kubectl and the validator (tests/chart/get_tools.sh)"
  exit 1
fi

status=0
HELM=$tools/bin/helm KUBECTL=$tools/bin/kubectl VALIDATOR_MODULES=$tools/k8s-validate \
  GREENLB_BIN=${GREENLB_BIN:-$root/build/greenlb} \
  /usr/bin/python3 "$here/checks.py" || status=1
echo "chart checks took $(( $(date +%s) - start ))s"
exit $status
