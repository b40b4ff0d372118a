#!/bin/sh
# Runs promtool on greenlb's monitoring outputs; exits 77 (ctest: skipped) without it.
#
#   promtool_check.sh metrics METRICS_DUMP   lint the Prometheus text exposition
#   promtool_check.sh rules ALERTS_YML       check the alerting rules
#   promtool_check.sh test RULES_TEST_YML    run the alerting rules' unit tests
set -u
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found (Debian package prometheus): skipped"
  exit 77
fi
case "$1" in
  metrics)
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
    "$2" >"$out" || exit 1
    # Any lint finding (missing HELP, bad suffix, ...) makes promtool exit non-zero.
    promtool check metrics <"$out"
    ;;
  rules) promtool check rules "$2" ;;
  test) promtool test rules "$2" ;;
  *) echo "usage: $0 metrics DUMP | rules FILE | test FILE" >&2; exit 2 ;;
esac
