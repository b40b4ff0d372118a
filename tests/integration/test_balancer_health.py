"""Active health checks (HTTP and TCP), one check per endpoint per interval for the whole
process, and panic mode when every endpoint is out (docs/balancing.md)."""
import time

from greenlb_testlib import Greenlb, Upstream, basic_config, free_port, http_get, wait_until

HEALTH = """
  [upstream.health]
  path = "/healthz"
  interval = "{interval}"
  timeout = "500ms"
  rise = 2
  fall = 2
"""


def served_by(port, n):
    """Which upstream answered each of n requests (its X-Upstream header)."""
    out = []
    for _ in range(n):
        status, headers, _ = http_get(port, "/")
        assert status == 200
        out.append(headers["x-upstream"])
    return out


def up_gauge(lb, endpoint):
    return lb.metric("greenlb_upstream_endpoint_up", upstream="app", endpoint=endpoint.address)


def test_http_check_takes_a_failing_backend_out_and_brings_it_back():
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], workers=2,
                                     upstream_extra=HEALTH.format(interval="100ms"))
        with Greenlb(text) as lb:
            assert set(served_by(port, 10)) == {"a", "b"}
            b.set_health(False)
            wait_until(lambda: up_gauge(lb, b) == 0, timeout=10, what="b marked down")
            assert "DOWN" in lb.log()
            assert set(served_by(port, 20)) == {"a"}
            assert lb.metric("greenlb_upstream_health_checks_total", upstream="app",
                             endpoint=b.address, result="failure") >= 2  # fall = 2
            b.set_health(True)
            wait_until(lambda: up_gauge(lb, b) == 1, timeout=10, what="b back up")
            assert "UP" in lb.log()
            assert set(served_by(port, 10)) == {"a", "b"}
            assert lb.status()["upstreams"][0]["endpoints"][1]["healthy"] is True


def test_one_check_per_endpoint_per_interval_across_workers():
    # Two hubs, interval 200 ms: the upstream sees about 5 checks a second from the whole
    # process, not 5 per hub.
    with Upstream("a") as a:
        text, _, _ = basic_config([a.address], workers=2,
                                  upstream_extra=HEALTH.format(interval="200ms"))
        with Greenlb(text) as lb:
            wait_until(lambda: a.hits("/healthz") >= 1, timeout=10, what="a first check")
            start_hits, start = a.hits("/healthz"), time.monotonic()
            time.sleep(1.5)
            hits, elapsed = a.hits("/healthz") - start_hits, time.monotonic() - start
            assert 2 <= hits <= elapsed / 0.2 + 2, (hits, elapsed)
            counted = lb.metric("greenlb_upstream_health_checks_total", upstream="app",
                                endpoint=a.address)
            assert counted <= a.hits("/healthz")


def test_tcp_check_follows_a_port_that_dies_and_comes_back():
    with Upstream("a") as a:
        b_port = free_port()
        b_address = f"127.0.0.1:{b_port}"
        text, port, _ = basic_config([a.address, b_address], workers=2, upstream_extra="""
  [upstream.health]
  interval = "100ms"
  timeout = "300ms"
  rise = 2
  fall = 2
""")
        with Greenlb(text) as lb:
            up = lambda: lb.metric("greenlb_upstream_endpoint_up", upstream="app", endpoint=b_address)
            # Nothing listens on b: its first check fails and takes it out at once.
            wait_until(lambda: up() == 0, timeout=10, what="b down")
            assert set(served_by(port, 10)) == {"a"}
            with Upstream("b", port=b_port):
                wait_until(lambda: up() == 1, timeout=10, what="b up")
                assert set(served_by(port, 10)) == {"a", "b"}
            wait_until(lambda: up() == 0, timeout=10, what="b down again")
            assert set(served_by(port, 10)) == {"a"}
            assert lb.metric("greenlb_upstream_health_checks_total", upstream="app",
                             endpoint=b_address, result="success") >= 2


def test_panic_spreads_over_all_when_all_are_down_and_panic_false_answers_503():
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], workers=2,
                                     upstream_extra=HEALTH.format(interval="100ms"))
        strict_port = free_port()
        text += f"""
[[listener]]
name = "strict"
listen = "127.0.0.1:{strict_port}"
upstream = "strict"

[[upstream]]
name = "strict"
panic = false
endpoints = ["{a.address}", "{b.address}"]
{HEALTH.format(interval="100ms")}
"""
        with Greenlb(text) as lb:
            assert lb.metric("greenlb_upstream_panic", upstream="app") == 0
            a.set_health(False)
            b.set_health(False)
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_up", upstream="app") == 0
                       and lb.metric("greenlb_upstream_endpoint_up", upstream="strict") == 0,
                       timeout=10, what="all endpoints down")
            # panic = true: still served, by both.
            assert set(served_by(port, 10)) == {"a", "b"}
            assert lb.metric("greenlb_upstream_panic", upstream="app") == 1
            # panic = false: 503 no_healthy.
            for _ in range(3):
                assert http_get(strict_port, "/")[0] == 503
            assert lb.metric("greenlb_upstream_unavailable_total", upstream="strict",
                             reason="no_healthy") == 3
            assert lb.metric("greenlb_upstream_panic", upstream="strict") == 0
            a.set_health(True)
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_up", upstream="app",
                                         endpoint=a.address) == 1, timeout=10, what="a back")
            assert set(served_by(port, 10)) == {"a"}
            assert lb.metric("greenlb_upstream_panic", upstream="app") == 0
