"""Rate limits (docs/rate-limits.md): a token bucket per key shared by every hub, 429 with
Retry-After, counted per listener and route, kept across reloads that leave the limit
alone, and a flood of distinct keys that cannot grow memory."""
import http.client
import socket
import time

from greenlb_testlib import Greenlb, Upstream, basic_config, rss_kib, wait_until
from h2_client import H2Client


def connection(port, source="127.0.0.1"):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=5, source_address=(source, 0))


def get(conn, path="/", headers=None):
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}


def test_a_client_over_its_rate_gets_the_rate_while_another_client_passes():
    rate, burst, seconds = 20, 20, 5.0
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], listener_extra=f"""
  [listener.rate_limit]
  requests_per_second = {rate}
  burst = {burst}
""")
        with Greenlb(text) as lb:
            noisy, quiet = connection(port, "127.0.0.1"), connection(port, "127.0.0.2")
            passed = limited = quiet_passed = 0
            started = time.monotonic()
            next_quiet = started
            while time.monotonic() - started < seconds:
                status, headers = get(noisy)
                if status == 200:
                    passed += 1
                else:
                    assert status == 429, status
                    assert 1 <= int(headers["retry-after"]) <= 2, headers
                    assert headers.get("x-request-id"), headers
                    limited += 1
                if time.monotonic() >= next_quiet:  # 4 a second: well under the rate
                    assert get(quiet)[0] == 200
                    quiet_passed += 1
                    next_quiet += 0.25
            elapsed = time.monotonic() - started
            # The same connection goes on after its 429s.
            expected = burst + rate * elapsed
            assert abs(passed - expected) <= 0.1 * expected, (passed, expected, limited)
            assert limited > 10 * passed, (passed, limited)
            assert quiet_passed >= 15
            lb.wait_requests_finished(passed + limited + quiet_passed)
            assert lb.metric("greenlb_rate_limited_total", listener="web", route="*") == limited
            assert lb.metric("greenlb_requests_total", listener="web", code="429") == limited


ROUTES = """
  [[listener.route]]
  path_prefix = "/login"
  upstream = "app"
    [listener.route.rate_limit]
    requests_per_second = 1
    burst = 3
    key = "header:X-Api-Key"
"""


def test_a_routes_limit_by_header_over_http1_and_http2():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], listener_extra=ROUTES)
        with Greenlb(text) as lb:
            c = connection(port)
            statuses = [get(c, "/login", {"X-Api-Key": "alice"})[0] for _ in range(5)]
            assert statuses == [200, 200, 200, 429, 429]
            # Another key has its own bucket; other routes have no limit.
            assert get(c, "/login", {"X-Api-Key": "bob"})[0] == 200
            assert all(get(c, "/other")[0] == 200 for _ in range(10))
            # Without the header: one shared bucket, not a way around the limit.
            assert [get(c, "/login")[0] for _ in range(4)] == [200, 200, 200, 429]
            # An HTTP/2 stream counts the same, and is answered 429 with Retry-After.
            with H2Client(port) as h2:
                sid = h2.request("GET", "/login", headers=[("x-api-key", "bob")])
                assert h2.response(sid)[0] == 200
                sid = h2.request("GET", "/login", headers=[("x-api-key", "alice")])
                status, headers, body, _ = h2.response(sid)
                assert status == 429 and int(headers["retry-after"]) >= 1, headers
            lb.wait_requests_finished(22)
            assert lb.metric("greenlb_rate_limited_total", listener="web", route="0") == 4
            assert lb.metric("greenlb_rate_limited_total", listener="web", route="*") == 0


def test_a_reload_keeps_the_buckets_of_an_unchanged_limit():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], listener_extra=ROUTES)
        with Greenlb(text) as lb:
            c = connection(port)
            assert [get(c, "/login", {"X-Api-Key": "k"})[0] for _ in range(4)] == [200] * 3 + [429]
            c.close()
            # Something else changes: the bucket stays spent.
            lb.reload(text.replace('graceful_timeout = "5s"', 'graceful_timeout = "6s"'))
            c = connection(port)
            assert get(c, "/login", {"X-Api-Key": "k"})[0] == 429
            c.close()
            # The limit itself changes: its buckets start full.
            lb.reload(text.replace("burst = 3", "burst = 2"))
            c = connection(port)
            assert [get(c, "/login", {"X-Api-Key": "k"})[0] for _ in range(3)] == [200, 200, 429]
            # A bad limit on reload keeps the running one.
            lb.reload(text.replace("burst = 3", "burst = 0"), expect_success=False)
            assert get(c, "/login", {"X-Api-Key": "k"})[0] == 429


def pipelined(port, keys, batch=500):
    """Sends one request per key, `batch` at a time on one connection, and returns the
    statuses in order."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    statuses, buf, pos = [], b"", 0
    try:
        for start in range(0, len(keys), batch):
            chunk = keys[start:start + batch]
            sock.sendall(b"".join(b"GET / HTTP/1.1\r\nHost: t\r\nX-Key: %s\r\n\r\n" % k
                                  for k in chunk))
            want = len(statuses) + len(chunk)
            while len(statuses) < want:
                end = buf.find(b"\r\n\r\n", pos)
                if end >= 0:
                    head = buf[pos:end].decode("latin-1")
                    length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
                    if len(buf) >= end + 4 + length:
                        statuses.append(int(head.split()[1]))
                        pos = end + 4 + length
                        continue
                data = sock.recv(1 << 20)
                assert data, "connection closed"
                buf = buf[pos:] + data
                pos = 0
    finally:
        sock.close()
    return statuses


def test_a_flood_of_distinct_keys_keeps_memory_bounded():
    # Every distinct X-Key passes the keyed limit once; the route's global limit then
    # answers nearly all of them itself, so the flood stays inside greenlb.
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], workers=1, listener_extra="""
  [listener.rate_limit]
  requests_per_second = 1
  burst = 1
  key = "header:X-Key"
  [[listener.route]]
  upstream = "app"
    [listener.route.rate_limit]
    requests_per_second = 1
    burst = 1
    key = "global"
""")
        with Greenlb(text) as lb:
            warm = pipelined(port, [b"warm%d" % i for i in range(20000)])
            assert warm.count(429) >= len(warm) - 100
            before = rss_kib(lb.pid())
            statuses = pipelined(port, [b"key%d" % i for i in range(100000)])
            after = rss_kib(lb.pid())
            assert len(statuses) == 100000 and statuses.count(429) >= 100000 - 100
            # The buckets are a fixed table: 100,000 more keys add nothing to speak of.
            assert after - before < 4096, (before, after)
            # The last key's own bucket is still there: the listener's limit (route "*")
            # turns it away, not the route's.
            def by_listener():
                return lb.metric("greenlb_rate_limited_total", listener="web", route="*")
            lb.wait_requests_finished(120000)
            listener_before = by_listener()
            assert pipelined(port, [b"key99999", b"key99999"]) == [429, 429]
            wait_until(lambda: by_listener() == listener_before + 2,
                       what="the listener's limit to count the returning key")
