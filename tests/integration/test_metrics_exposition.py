"""The /metrics text REALLY scraped from a running greenlb after varied traffic passes the
official checkers: `promtool check metrics` (Prometheus text format) and prometheus_client's
OpenMetrics parser (OpenMetrics text), and both formats carry the same series (issue 6)."""
import math
import shutil
import subprocess

import pytest

from greenlb_testlib import Greenlb, Upstream, basic_config, free_port, http_get, raw_exchange

OPENMETRICS_ACCEPT = ("application/openmetrics-text;version=1.0.0,"
                      "application/openmetrics-text;version=0.0.1;q=0.75,"
                      "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")  # what Prometheus 2.42 sends


@pytest.fixture(scope="module")
def lb():
    """greenlb after traffic that fills most families: codes, an error, a connect failure,
    a retry, a reload."""
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there: connect failures, a retry
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address, dead], upstream_extra="""
  [upstream.outlier]
  consecutive_failures = 0
""")
        with Greenlb(text) as lb:
            for path in ["/", "/status/201", "/status/404", "/status/500", "/big?bytes=100000",
                         "/slow?ms=20"] * 3:
                http_get(port, path)
            raw_exchange(port, b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
            lb.reload(text + "\n")
            lb.web_port = port
            yield lb


def test_promtool_lints_the_scraped_text_clean(lb):
    if shutil.which("promtool") is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    status, headers, body = lb.admin_get("/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    for family in ("greenlb_requests_total", "greenlb_request_duration_seconds",
                   "greenlb_upstream_connect_failures_total", "greenlb_upstream_retries_total",
                   "greenlb_client_errors_total", "greenlb_hub_loop_lag_seconds",
                   "greenlb_config_reloads_total", "process_cpu_seconds_total"):
        assert f"# TYPE {family} " in text, family
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
    # Any lint finding (missing HELP, bad suffix, non-cumulative buckets...) exits non-zero.
    assert check.returncode == 0, check.stdout + check.stderr


def test_openmetrics_scrape_parses_and_matches_the_text_format(lb):
    parsers = pytest.importorskip("prometheus_client.openmetrics.parser",
                                  reason="python3-prometheus-client not installed")
    from prometheus_client.parser import text_string_to_metric_families as parse_text

    status, headers, body = lb.admin_get("/metrics", headers={"Accept": OPENMETRICS_ACCEPT})
    assert status == 200
    assert headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    om_text = body.decode()
    assert om_text.endswith("# EOF\n")
    assert om_text.count("# EOF") == 1
    families = {f.name: f for f in parsers.text_string_to_metric_families(om_text)}  # strict
    assert families["greenlb_requests"].type == "counter"
    assert families["greenlb_request_duration_seconds"].type == "histogram"
    assert families["greenlb_build_info"].type in ("gauge", "info")
    codes = {s.labels["code"]: s.value for s in families["greenlb_requests"].samples
             if s.name == "greenlb_requests_total"}
    assert codes == {"200": 9, "201": 3, "404": 3, "500": 3}

    # The same greenlb series and values in both formats (the scrapes are moments apart:
    # only the loop-lag probe and the gauges may move).
    text = lb.admin_get("/metrics")[2].decode()

    def series(fams):
        out = {}
        for f in fams:
            for s in f.samples:
                if not s.name.startswith("greenlb_") or s.name.endswith("_created"):
                    continue
                labels = dict(s.labels)
                if "le" in labels:
                    labels["le"] = float(labels["le"])
                out[(s.name, tuple(sorted(labels.items())))] = s.value
        return out

    om = series(parsers.text_string_to_metric_families(om_text))
    prom = series(parse_text(text))
    assert set(om) == set(prom)
    for key, value in prom.items():
        if key[0].startswith(("greenlb_hub_", "greenlb_upstream_pool_idle",
                              "greenlb_connections_active")):
            continue
        if key[0] == "greenlb_config_last_reload_success_timestamp_seconds":
            assert math.isclose(om[key], value)
            continue
        if key[0].endswith("_sum"):
            # prometheus-cpp's text serializer writes 16 significant digits, OpenMetrics
            # the shortest exact text: a sum of durations may differ in its last bit.
            assert math.isclose(om[key], value, rel_tol=1e-15), key
            continue
        assert om[key] == value, key
