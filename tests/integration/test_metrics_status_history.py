"""/status/history (issue 20): the last minutes of every listener, upstream and endpoint,
one sample a second, read from the metric shards by the admin side. Its shape, what the
samples say under traffic that fails and is retried, ?seconds=N, and series following a
reload."""
import json

import pytest

from greenlb_testlib import Greenlb, Upstream, basic_config, http_get, wait_until

LISTENER_FIELDS = {"requests_per_second", "errors_per_second", "p50_seconds", "p99_seconds",
                   "connections"}
UPSTREAM_FIELDS = {"requests_per_second", "errors_per_second", "retries_per_second",
                   "p50_seconds", "p99_seconds", "in_flight"}
ENDPOINT_FIELDS = {"requests_per_second", "errors_per_second", "in_flight"}


def history(lb, query=""):
    status, headers, body = lb.admin_get("/status/history" + query)
    assert status == 200 and headers["content-type"] == "application/json"
    return json.loads(body)


def fields(series):
    return {k: v for k, v in series.items() if isinstance(v, list) and k != "endpoints"}


@pytest.fixture(scope="module")
def setup():
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address],
                                     upstream_extra="  [upstream.outlier]\n"
                                                    "  consecutive_failures = 0\n")
        with Greenlb(text) as lb:
            yield lb, port, a, b, text


def test_shape_and_series(setup):
    lb, port, a, b, _ = setup
    wait_until(lambda: history(lb)["round"] >= 2, what="two rounds")
    h = history(lb)
    assert h["interval_seconds"] == 1 and h["capacity"] == 900
    assert h["series_left_out"] == 0
    assert isinstance(h["time"], float)
    (web,) = h["listeners"]
    assert web["name"] == "web" and set(fields(web)) == LISTENER_FIELDS
    (app,) = h["upstreams"]
    assert app["name"] == "app" and set(fields(app)) == UPSTREAM_FIELDS
    assert [e["address"] for e in app["endpoints"]] == [a.address, b.address]
    for e in app["endpoints"]:
        assert set(fields(e)) == ENDPOINT_FIELDS
    # Every series was there from the first round: one sample a round after it.
    for series in (web, app, *app["endpoints"]):
        assert {len(v) for v in fields(series).values()} == {h["round"] - 1}


def test_samples_show_traffic_errors_and_retries(setup):
    lb, port, a, b, _ = setup
    for _ in range(20):
        assert http_get(port, "/")[0] == 200
    a.fail_with(503)
    b.fail_with(503)
    try:
        for _ in range(10):
            assert http_get(port, "/")[0] == 503  # retried on the other one, 503 too
    finally:
        a.fail_with(0)
        b.fail_with(0)

    def seen(h):
        web, app = h["listeners"][0], h["upstreams"][0]
        return (max(web["requests_per_second"], default=0) > 0 and
                max(web["errors_per_second"], default=0) > 0 and
                max(app["retries_per_second"], default=0) > 0 and
                all(max(e["errors_per_second"], default=0) > 0 for e in app["endpoints"]))

    h = wait_until(lambda: (lambda h: seen(h) and h)(history(lb)),
                   what="the traffic, 5xx and retries in the history")
    web = h["listeners"][0]
    # Latency of the seconds that had requests; null (not 0) for the others.
    latencies = [(p50, p99) for p50, p99 in zip(web["p50_seconds"], web["p99_seconds"])]
    assert any(p50 is not None for p50, _ in latencies)
    for p50, p99 in latencies:
        assert (p50 is None and p99 is None) or 0 < p50 <= p99


def test_seconds_limits_the_samples(setup):
    lb, *_ = setup
    wait_until(lambda: history(lb)["round"] >= 4, what="four rounds")
    h = history(lb, "?seconds=2")
    for series in (h["listeners"][0], h["upstreams"][0], *h["upstreams"][0]["endpoints"]):
        assert {len(v) for v in fields(series).values()} == {2}
    assert lb.admin_get("/status/history?seconds=oops")[0] == 200  # ignored: everything
    assert http_get(lb.admin_port, "/status/history", method="POST")[0] == 405


def test_series_follow_a_reload(setup):
    lb, port, a, b, text = setup
    before = len(history(lb)["listeners"][0]["requests_per_second"])
    lb.reload(text.replace(f'"{a.address}", ', ""))
    # The endpoint that left is gone from the history; the listener's series goes on.
    h = wait_until(lambda: (lambda h: len(h["upstreams"][0]["endpoints"]) == 1 and h)(history(lb)),
                   what="the removed endpoint's series dropped")
    assert h["upstreams"][0]["endpoints"][0]["address"] == b.address
    assert len(h["listeners"][0]["requests_per_second"]) > before
