"""The HTTP/1.1 data path against real upstream processes (issue 4, docs/proxying.md)."""
import http.client
import json
import re
import socket
import time

import pytest

from greenlb_testlib import (Greenlb, RawHttpConnection, Upstream, basic_config, http_get,
                             raw_exchange)


@pytest.fixture(scope="module")
def setup():
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address])
        with Greenlb(text) as lb:
            yield lb, port, a, b


def test_round_robin_and_keep_alive_reuse_on_both_sides(setup):
    lb, port, a, b = setup
    before = a.stats()["connections"] + b.stats()["connections"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    seen = []
    for _ in range(40):
        conn.request("GET", "/")
        r = conn.getresponse()
        assert r.status == 200
        seen.append(r.read().decode().strip())
        assert r.getheader("Connection") is None  # kept alive
    conn.close()
    assert seen.count("a") == 20 and seen.count("b") == 20
    after = a.stats()["connections"] + b.stats()["connections"]
    # 40 requests over one client connection reused pooled upstream connections: at most
    # one per endpoint per hub was opened.
    assert after - before <= 4


def test_request_with_a_body_keeps_the_client_connection_alive(setup):
    # Regression (issue 11): a body that arrived whole with its head used to count as
    # unread when the response was written, so every such POST got Connection: close.
    lb, port, a, b = setup
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    conn.getresponse().read()
    sock = conn.sock
    for i in range(5):
        conn.request("POST", "/echo", body=b"hello %d" % i)
        r = conn.getresponse()
        assert r.read() == b"hello %d" % i
        assert r.getheader("Connection") is None  # kept alive
    assert conn.sock is sock  # one client connection for all of them
    conn.close()


def test_forwarding_headers_and_request_id(setup):
    lb, port, a, b = setup
    status, headers, body = http_get(port, "/headers", headers={"X-Forwarded-For": "10.1.1.1",
                                                                 "X-Request-Id": "client-id-42"})
    assert status == 200
    received = {k.lower(): v for k, v in json.loads(body)}
    assert received["x-forwarded-for"] == "10.1.1.1, 127.0.0.1"
    assert received["x-forwarded-proto"] == "http"
    assert received["x-forwarded-host"] == f"127.0.0.1:{port}"
    assert received["x-request-id"] == "client-id-42"
    assert headers["x-request-id"] == "client-id-42"
    # No id (or an invalid one): a fresh one, the same upstream and downstream.
    status, headers, body = http_get(port, "/headers", headers={"X-Request-Id": "has space"})
    received = {k.lower(): v for k, v in json.loads(body)}
    assert len(headers["x-request-id"]) == 32
    assert received["x-request-id"] == headers["x-request-id"]


def test_hop_by_hop_headers_are_not_forwarded(setup):
    lb, port, a, b = setup
    raw = (b"GET /headers HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\n"
           b"X-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n"
           b"TE: trailers\r\nX-Kept: yes\r\nConnection: close\r\n\r\n")
    reply = raw_exchange(port, raw)
    body = reply.split(b"\r\n\r\n", 1)[1]
    names = {k.lower() for k, _ in json.loads(body)}
    assert "x-kept" in names
    for gone in ("x-secret", "keep-alive", "proxy-connection", "te"):
        assert gone not in names
    assert b"Connection: close" in reply


def test_chunked_request_and_response(setup):
    lb, port, a, b = setup
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in [b"hello ", b"chunked ", b"world"])
    raw = (b"POST /echo?chunked=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: close\r\n\r\n" + body + b"0\r\n\r\n")
    reply = raw_exchange(port, raw)
    head, rest = reply.split(b"\r\n\r\n", 1)
    assert b"200" in head.split(b"\r\n")[0]
    assert b"transfer-encoding: chunked" in head.lower()
    # De-chunk what came back.
    out, data = b"", rest
    while True:
        size_line, data = data.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2:]
    assert out == b"hello chunked world"


def test_small_request_body_keeps_the_connection_alive(setup):
    # A body sent with the head (one write) is buffered whole; the connection must stay
    # open for the next request (it used to get Connection: close).
    lb, port, a, b = setup
    conn = RawHttpConnection(port)
    for i in range(5):
        body = b"x" * (100 + i)
        status, headers, data = conn.request("/echo", method="POST", body=body)
        assert status == 200 and data == body
        assert headers.get("connection", "").lower() != "close"
        assert conn.open
    conn.close()


def test_http10_client_gets_a_dechunked_close_delimited_body(setup):
    lb, port, a, b = setup
    reply = raw_exchange(port, b"GET /big?bytes=100000&chunked=1 HTTP/1.0\r\n\r\n")
    head, body = reply.split(b"\r\n\r\n", 1)
    assert b" 200 " in head.split(b"\r\n")[0]
    assert b"transfer-encoding" not in head.lower()
    assert body == b"x" * 100000


def test_pipelined_requests_are_answered_in_order(setup):
    lb, port, a, b = setup
    raw = b"".join(b"GET /status/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (200 + i) for i in range(5))
    raw += b"GET /status/299 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = raw_exchange(port, raw)
    codes = [int(c) for c in re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)]
    assert codes == [200, 201, 202, 203, 204, 299]


def test_expect_100_continue(setup):
    lb, port, a, b = setup
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = s.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"hello")
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    assert reply.split(b"\r\n")[0].startswith(b"HTTP/1.1 200")
    assert reply.endswith(b"hello")


def test_head_and_204_have_no_body(setup):
    lb, port, a, b = setup
    raw = b"HEAD /big?bytes=5000 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    reply = raw_exchange(port, raw)
    first, second = reply.split(b"HTTP/1.1 204", 1)
    assert b"Content-Length: 5000" in first and first.endswith(b"\r\n\r\n")
    assert second.endswith(b"\r\n\r\n")


MALFORMED = [
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n", 431),
]


@pytest.mark.parametrize("raw, status", MALFORMED, ids=[f"case{i}-{s}" for i, (_, s) in enumerate(MALFORMED)])
def test_malformed_requests_get_their_4xx_and_close(setup, raw, status):
    lb, port, a, b = setup
    reply = raw_exchange(port, raw)
    assert reply.split(b"\r\n")[0].startswith(b"HTTP/1.1 %d" % status), reply[:200]
    assert b"Connection: close" in reply
    # The proxy keeps serving everyone else.
    assert http_get(port, "/")[0] == 200


def test_body_over_max_body_bytes_is_413():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra="""
  [listener.limits]
  max_body_bytes = 1000
""")
        with Greenlb(text) as lb:
            status, _, _ = http_get(port, "/echo", method="POST", body=b"x" * 2000)
            assert status == 413
            chunked = (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       b"800\r\n" + b"y" * 2048 + b"\r\n0\r\n\r\n")
            assert raw_exchange(port, chunked).startswith(b"HTTP/1.1 413")
            assert http_get(port, "/echo", method="POST", body=b"x" * 999)[2] == b"x" * 999


def test_slow_head_gets_408():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra="""
  [listener.timeouts]
  client_header = "300ms"
""")
        with Greenlb(text) as lb:
            start = time.monotonic()
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
                reply = s.recv(4096)
            assert reply.startswith(b"HTTP/1.1 408")
            assert time.monotonic() - start < 3
            assert lb.metric("greenlb_client_errors_total", listener="web", reason="header_timeout") >= 1


def test_routes_by_host_and_path():
    with Upstream("a") as a, Upstream("api") as api, Upstream("wild") as wild:
        text, port, _ = basic_config([a.address])
        text += f"""
  [[listener.route]]
  host = "api.example.com"
  path_prefix = "/v1/"
  upstream = "api"
  [[listener.route]]
  host = "*.example.com"
  upstream = "wild"

[[upstream]]
name = "api"
endpoints = ["{api.address}"]

[[upstream]]
name = "wild"
endpoints = ["{wild.address}"]
"""
        # The routes must belong to the listener: move them above the upstreams.
        head, tail = text.split("[[upstream]]", 1)
        routes = text[text.index("  [[listener.route]]"):text.index('[[upstream]]\nname = "api"')]
        text = head + routes + "[[upstream]]" + tail.replace(routes, "")
        with Greenlb(text) as lb:
            get = lambda host, path: http_get(port, path, headers={"Host": host})[2].strip()
            assert get("api.example.com", "/v1/users") == b"api"
            assert get("API.example.com:8080", "/v1/") == b"api"
            assert get("api.example.com", "/v2/") == b"wild"
            assert get("www.example.com", "/") == b"wild"
            assert get("example.com", "/") == b"a"
            assert get("other.org", "/v1/") == b"a"
