"""Passive outlier ejection (5xx, connect failures) and return; retries turning a dying
backend into successes; the retry budget under a failing upstream (docs/balancing.md)."""
import json
import threading
import time

from greenlb_testlib import (Greenlb, RawHttpConnection, Upstream, basic_config, free_port,
                             http_get, wait_until)


def test_5xx_ejects_the_endpoint_and_it_returns_after_the_period():
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], workers=2, upstream_extra="""
  [upstream.retry]
  attempts = 0
  [upstream.outlier]
  consecutive_failures = 3
  ejection = "1s"
""")
        with Greenlb(text) as lb:
            up = lambda: lb.metric("greenlb_upstream_endpoint_up", upstream="app", endpoint=b.address)
            b.fail_with(500)
            statuses = [http_get(port, "/")[0] for _ in range(12)]
            assert statuses.count(500) == 3  # b's third 500 in a row ejected it
            assert lb.metric("greenlb_upstream_ejections_total", upstream="app",
                             endpoint=b.address) == 1
            assert up() == 0
            assert "ejected" in lb.log()
            assert all(http_get(port, "/")[2] == b"a\n" for _ in range(10))
            b.fail_with(0)
            # The ejection ends: traffic comes back, and the gauge with it (with no
            # traffic needed to notice).
            wait_until(lambda: up() == 1, timeout=5, what="b's up gauge back to 1")
            bodies = {http_get(port, "/")[2] for _ in range(10)}
            assert bodies == {b"a\n", b"b\n"}


def test_connect_failures_eject_and_retries_hide_them():
    dead = f"127.0.0.1:{free_port()}"
    with Upstream("a") as a:
        text, port, _ = basic_config([dead, a.address], workers=2, upstream_extra="""
  [upstream.outlier]
  consecutive_failures = 2
  ejection = "300ms"
""")
        with Greenlb(text) as lb:
            for _ in range(30):
                status, _, body = http_get(port, "/")
                assert status == 200 and body == b"a\n"
            assert lb.metric("greenlb_upstream_ejections_total", upstream="app", endpoint=dead) >= 1
            assert lb.metric("greenlb_upstream_connect_failures_total", upstream="app",
                             endpoint=dead) >= 2
            assert lb.metric("greenlb_upstream_retries_total", upstream="app") >= 2


def test_a_killed_backend_under_load_costs_no_client_error(tmp_path):
    access_log = tmp_path / "access.log"
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], workers=2, upstream_extra="""
  [upstream.retry]
  attempts = 2
  backoff = "5ms"
""")
        text = text.replace('path = "off"', f'path = "{access_log}"\nformat = "json"')
        with Greenlb(text) as lb:
            errors, served = [], []
            stop = threading.Event()

            def client():
                conn = None
                while not stop.is_set():
                    try:
                        if conn is None:
                            conn = RawHttpConnection(port, timeout=5)
                        status, headers, _ = conn.request("/")
                        if status != 200:
                            errors.append(status)
                        served.append(headers.get("x-upstream"))
                        if headers.get("connection", "").lower() == "close":
                            conn.close()
                            conn = None
                    except Exception as e:  # noqa: BLE001: every failure is a test failure
                        errors.append(repr(e))
                        conn = None
                if conn is not None:
                    conn.close()

            # 3 clients: never more requests retrying at once than the budget's floor of 3.
            threads = [threading.Thread(target=client) for _ in range(3)]
            for t in threads:
                t.start()
            wait_until(lambda: served.count("b") >= 20, timeout=10, what="traffic on b")
            b.stop()  # killed mid-traffic: its pooled connections die, new ones are refused
            n = len(served)
            wait_until(lambda: len(served) >= n + 200, timeout=20, what="traffic after the kill")
            stop.set()
            for t in threads:
                t.join(timeout=10)
            assert lb.metric("greenlb_upstream_retries_total", upstream="app") >= 1
            # The one failure no proxy can hide: b died after its response head was already
            # relayed (the head and body left b in two writes). Every client error must be
            # such a cut; everything else was retried.
            lb.stop()  # flushes the access log
            cut = [line for line in access_log.read_text().splitlines()
                   if json.loads(line)["error"] == "upstream_body_failed"]
            assert len(errors) == len(cut) <= 1, (errors, cut)
            assert served[-50:] == ["a"] * 50


def test_retry_budget_caps_retries_under_a_failing_upstream():
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], workers=2, upstream_extra="""
  [upstream.retry]
  attempts = 2
  on = ["503"]
  backoff = "1ms"
  budget_percent = 10
  [upstream.outlier]
  consecutive_failures = 0
""")
        with Greenlb(text) as lb:
            for u in (a, b):
                u.fail_with(503)
                u.delay(300)  # every attempt is in flight for 300 ms
            results = []
            barrier = threading.Barrier(30)

            def client():
                barrier.wait()
                results.append(http_get(port, "/", timeout=10)[0])

            threads = [threading.Thread(target=client) for _ in range(30)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=15)
            assert results == [503] * 30
            # Without a budget: 30 requests x 2 retries = 60. With it at most
            # max(3, 10% of ~30) requests retry at once, each up to twice.
            retries = lb.metric("greenlb_upstream_retries_total", upstream="app")
            assert 1 <= retries <= 12, retries
