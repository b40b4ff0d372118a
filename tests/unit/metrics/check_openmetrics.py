#!/usr/bin/env python3
"""Parses both expositions of METRICS_DUMP with the Python client's strict parsers.

The OpenMetrics one must pass prometheus_client's OpenMetrics parser (promtool 2.42 only
lints the Prometheus text format), and both formats must carry the same greenlb_* series
with the same values. Exits 77 (ctest: skipped) when prometheus_client is not installed
(Debian package python3-prometheus-client).
"""
import subprocess
import sys

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
    from prometheus_client.parser import text_string_to_metric_families as parse_text
except ImportError:
    print("prometheus_client not installed (python3-prometheus-client): skipped")
    sys.exit(77)

# Set at registry construction: differs between the two runs of the dump.
CLOCK_SAMPLES = {"greenlb_config_last_reload_success_timestamp_seconds"}


def samples(families):
    out = {}
    for family in families:
        for s in family.samples:
            if not s.name.startswith("greenlb_"):
                continue
            labels = dict(s.labels)
            if "le" in labels:  # "1" in the text format, canonical "1.0" in OpenMetrics
                labels["le"] = float(labels["le"])
            out[(s.name, tuple(sorted(labels.items())))] = s.value
    return out


def main():
    dump = sys.argv[1]
    om_text = subprocess.run([dump, "--openmetrics"], check=True, capture_output=True,
                             text=True).stdout
    text = subprocess.run([dump], check=True, capture_output=True, text=True).stdout
    om = samples(parse_om(om_text))  # raises on any OpenMetrics violation
    prom = samples(parse_text(text))
    problems = []
    for key in sorted(set(om) | set(prom), key=str):
        if key not in om or key not in prom:
            problems.append(f"only in {'OpenMetrics' if key in om else 'text'}: {key}")
        elif key[0] in CLOCK_SAMPLES:
            if abs(om[key] - prom[key]) > 60:
                problems.append(f"clock sample far apart: {key} {om[key]} vs {prom[key]}")
        elif om[key] != prom[key]:
            problems.append(f"values differ: {key} {om[key]} vs {prom[key]}")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"OpenMetrics exposition parses; {len(om)} greenlb series agree with the text format")
    return 0


if __name__ == "__main__":
    sys.exit(main())
