"""Backends that fail: stuck, refusing, closing pooled connections (issue 4, docs/proxying.md)."""
import http.client
import threading
import time

from greenlb_testlib import Greenlb, Upstream, basic_config, free_port, http_get


def test_stuck_upstream_gets_504_within_the_timeout_while_others_flow():
    with Upstream("stuck", mode="stuck") as stuck, Upstream("ok") as ok:
        text, port, _ = basic_config([stuck.address], upstream_extra="""
  [upstream.timeouts]
  response = "400ms"
  [upstream.retry]
  attempts = 0
""")
        text += f"""
[[listener]]
name = "other"
listen = "127.0.0.1:{free_port()}"
upstream = "fine"

[[upstream]]
name = "fine"
endpoints = ["{ok.address}"]
"""
        with Greenlb(text) as lb:
            other_port = lb.port("other")
            results = []

            def stuck_request():
                start = time.monotonic()
                status = http_get(port, "/", timeout=10)[0]
                results.append((status, time.monotonic() - start))

            threads = [threading.Thread(target=stuck_request) for _ in range(5)]
            for t in threads:
                t.start()
            # Meanwhile the other upstream answers at once.
            for _ in range(20):
                assert http_get(other_port, "/", timeout=2)[0] == 200
            for t in threads:
                t.join(timeout=10)
            assert len(results) == 5
            for status, elapsed in results:
                assert status == 504
                assert 0.35 < elapsed < 3.0
            assert lb.metric("greenlb_upstream_timeouts_total", upstream="app", kind="response") == 5
            lb.wait_requests_finished(5, listener="web")
            assert lb.metric("greenlb_requests_total", listener="web", code="504") == 5


def test_refused_endpoint_is_skipped_by_a_retry():
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    with Upstream("alive") as alive:
        text, port, _ = basic_config([dead, alive.address])
        with Greenlb(text) as lb:
            for _ in range(30):
                status, _, body = http_get(port, "/")
                assert status == 200 and body == b"alive\n"
            assert lb.metric("greenlb_upstream_connect_failures_total", upstream="app",
                             endpoint=dead) >= 1


def test_every_endpoint_refusing_is_502():
    text, port, _ = basic_config([f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"])
    with Greenlb(text) as lb:
        status, headers, body = http_get(port, "/")
        assert status == 502
        assert b"127.0.0.1" not in body  # no internal addresses in proxy-made bodies
        assert "x-request-id" in headers


def test_upstream_closing_pooled_connections_costs_no_client_error():
    # The upstream closes idle keep-alive connections after 100 ms: requests spaced wider
    # than that find their pooled connection closed and must be retried transparently.
    with Upstream("closer", idle_close=0.1) as up:
        text, port, _ = basic_config([up.address], upstream_extra="""
  [upstream.retry]
  attempts = 0
""")
        with Greenlb(text) as lb:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for _ in range(15):
                conn.request("GET", "/")
                r = conn.getresponse()
                assert r.status == 200
                r.read()
                time.sleep(0.15)
            conn.close()
            assert lb.metric("greenlb_upstream_retries_total", upstream="app") == 0


def test_upstream_dying_mid_body_cuts_the_client_connection():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address])
        with Greenlb(text) as lb:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/big?bytes=200000000")
            r = conn.getresponse()
            assert r.status == 200
            r.read(100000)
            up.stop()
            try:
                rest = r.read()
                truncated = len(rest) + 100000 < 200000000
            except http.client.IncompleteRead:
                truncated = True
            assert truncated
            conn.close()
