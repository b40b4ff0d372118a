"""Hardening (docs/security.md): no response ever reaches the wrong client through a pooled
upstream connection, a request that may have been processed is never sent twice, one client
cannot hold a hub, and what greenlb answers itself carries an X-Request-Id. Each test failed
before the fix it covers."""
import http.client
import json
import socket
import ssl
import threading
import time

import pytest

from greenlb_testlib import (Greenlb, Upstream, basic_config, free_port, http_get, tcp_config,
                             wait_until)
from recording_upstream import RecordingUpstream, ok
from tls_certs import CertAuthority


def one_hub(upstream_address, extra=""):
    """One hub, so every request shares that hub's pool of upstream connections."""
    text, port, _ = basic_config([upstream_address], workers=1, upstream_extra=extra)
    return text, port


def get(port, path, method="GET", body=None, headers=None, timeout=5, chunked=False):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        r = c.getresponse()
        return r.status, r.read(), dict((k.lower(), v) for k, v in r.getheaders())
    finally:
        c.close()


# --- Upstream connection reuse ---------------------------------------------------------------

FAKE = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX-Fake: 1\r\n\r\nLEAKED!"


def excess_body_upstream(sock, req, index):
    """Answers /victim properly; every other request with a response whose framing ends
    before the bytes it sends (the `do_HEAD = do_GET` bug and its cousins)."""
    if req.target == b"/victim":
        sock.sendall(ok(b"victim"))
        return True
    pad = b"x" * (32797 - len(FAKE))
    if req.target == b"/headbody":       # HEAD answered with its GET body
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 32797\r\n\r\n" + pad + FAKE)
    elif req.target == b"/nocontent":    # 204 with a body
        sock.sendall(b"HTTP/1.1 204 No Content\r\n\r\n" + FAKE)
    elif req.target == b"/notmodified":  # 304 with a body
        sock.sendall(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n" + FAKE)
    elif req.target == b"/longer":       # a body longer than its Content-Length
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + FAKE)
    return True


@pytest.mark.parametrize("method, path", [("HEAD", "/headbody"), ("GET", "/nocontent"),
                                          ("GET", "/notmodified"), ("GET", "/longer")])
def test_bytes_past_a_responses_framing_never_reach_another_client(method, path):
    with RecordingUpstream(excess_body_upstream) as up:
        text, port = one_hub(up.address)
        with Greenlb(text) as lb:
            for _ in range(3):
                status, body, headers = get(port, path, method=method)
                assert "x-fake" not in headers
                # Another client, the same hub: its request must never be answered with the
                # leftover bytes of the one before.
                status, body, headers = get(port, "/victim")
                assert (status, body) == (200, b"victim"), (status, body, headers)
                assert "x-fake" not in headers
            assert lb.metric("greenlb_upstream_protocol_errors_total", upstream="app") == 3


def fin_with_response_upstream(sock, req, index):
    """Every response goes out with the connection's FIN in the same segment."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    sock.sendall(ok(b"done"))  # says keep-alive, then closes at once
    sock.shutdown(socket.SHUT_WR)
    return False


def test_connection_whose_fin_came_with_its_response_is_not_reused():
    with RecordingUpstream(fin_with_response_upstream) as up:
        text, port = one_hub(up.address, """
  [upstream.retry]
  attempts = 0
""")
        with Greenlb(text) as lb:
            for i in range(3):
                assert get(port, f"/first{i}")[0] == 200
                time.sleep(0.3)
                # A chunked POST cannot be replayed: sent on the dead pooled connection it
                # would have been a 502 (upstream_write_failed).
                status, body, _ = get(port, f"/post{i}", method="POST",
                                      body=iter([b"chunk-one", b"chunk-two"]),
                                      headers={"Transfer-Encoding": "chunked"}, chunked=True)
                assert (status, body) == (200, b"done")
            assert lb.metric("greenlb_upstream_pool_idle_connections", upstream="app") == 0


def close_on_second_request(sock, req, index):
    """A connection's first request gets a keep-alive 200; its second is read whole and
    then the connection closes without a word (processed, or not: nobody can tell)."""
    if index == 1:
        sock.sendall(ok(b"first"))
        return True
    return False


def one_write(port, method, path, body):
    """A request whose body comes with its head (so greenlb holds all of it and could send
    it again): (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                  % (method.encode(), path.encode(), len(body), body))
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, rest = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), rest


def test_request_that_may_have_been_processed_is_not_sent_again():
    with RecordingUpstream(close_on_second_request) as up:
        text, port = one_hub(up.address)
        with Greenlb(text) as lb:
            # POST: not idempotent. On a reused connection that closes after reading it, the
            # upstream may have acted on it: 502, and it saw the POST once (RFC 9110 9.2.2).
            assert get(port, "/a")[0] == 200
            assert one_write(port, "POST", "/order", b"pay 10")[0] == 502
            assert len(up.requests(method=b"POST")) == 1
            # PUT: idempotent, so the same failure is retried on a new connection.
            assert get(port, "/b")[0] == 200
            assert one_write(port, "PUT", "/doc", b"v2") == (200, b"first")
            assert len(up.requests(method=b"PUT")) == 2
            assert lb.metric("greenlb_upstream_retries_total", upstream="app") == 0


# --- Fairness -------------------------------------------------------------------------------

MAX_HEAD = 32 * 1024  # the default max_header_bytes


def head_of(size, path="/sink", body_len=0):
    start = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nX-Pad: " % (path.encode(), body_len)
    pad = size - len(start) - 4
    return start + b"p" * pad + b"\r\n\r\n"


def test_a_head_just_under_the_limit_leaves_its_body_a_real_window():
    """A head one byte under max_header_bytes used to leave its body a one-byte window: one
    recv and one send per byte, never parking, and every other client of the hub waited."""
    with Upstream("a") as up:
        text, port = one_hub(up.address)
        with Greenlb(text) as lb:
            body_len = 400_000
            head = head_of(MAX_HEAD - 1, body_len=body_len)
            assert len(head) == MAX_HEAD - 1
            result = {}

            def big():
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.sendall(head + b"b" * body_len)
                data = b""
                while b"\r\n\r\n" not in data or not data.endswith(str(body_len).encode()):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                result["reply"] = data
                s.close()

            t = threading.Thread(target=big)
            t.start()
            worst = 0.0
            while t.is_alive():
                start = time.monotonic()
                assert http_get(port, "/", timeout=10)[0] == 200
                worst = max(worst, time.monotonic() - start)
            t.join()
            assert result["reply"].startswith(b"HTTP/1.1 200")
            assert result["reply"].endswith(str(body_len).encode())  # /sink: the body size
            # Generous: the one-byte window took seconds; a 16 KiB one takes milliseconds.
            assert worst < 1.0, worst


def test_a_head_that_fills_the_limit_exactly_is_431_not_a_silent_close():
    with Upstream("a") as up:
        text, port = one_hub(up.address)
        with Greenlb(text) as lb:
            head = head_of(MAX_HEAD, body_len=10)
            assert len(head) == MAX_HEAD
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(head + b"0123456789")
                reply = s.recv(65536)
            assert reply.startswith(b"HTTP/1.1 431"), reply[:100]
            assert b"\r\nX-Request-Id: " in reply
            assert up.stats()["requests"] == 0


# --- Smaller defects ------------------------------------------------------------------------

def test_upgrade_request_body_is_sent_upstream_once():
    received = {}

    def handler(sock, req, index):
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
                     b"Upgrade: websocket\r\n\r\n")
        data = req.body  # the reader took the Content-Length body with the head
        sock.settimeout(5)
        while not data.endswith(b"PING"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        received["bytes"] = data
        sock.sendall(b"PONG")
        return False

    with RecordingUpstream(handler) as up:
        text, port = one_hub(up.address)
        with Greenlb(text) as lb:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                          b"Upgrade: websocket\r\nContent-Length: 5\r\n\r\nhello")
                reply = b""
                while b"\r\n\r\n" not in reply:
                    reply += s.recv(65536)
                assert reply.startswith(b"HTTP/1.1 101")
                s.sendall(b"PING")
                rest = reply.split(b"\r\n\r\n", 1)[1]
                while not rest.endswith(b"PONG"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
            assert received["bytes"] == b"helloPING"


@pytest.mark.parametrize("raw, status", [
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505),
    (b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n", 501),
    (b"GET / HTTP/1.1\r\nHost: x\r\n", 408),  # never finishes its head
])
def test_answers_to_requests_that_failed_to_parse_carry_a_request_id(raw, status):
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], listener_extra="""
  [listener.timeouts]
  client_header = "300ms"
""")
        with Greenlb(text) as lb:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(raw)
                reply = s.recv(65536)
            assert reply.startswith(b"HTTP/1.1 %d" % status), reply[:100]
            ids = [line for line in reply.split(b"\r\n") if line.lower().startswith(b"x-request-id: ")]
            assert len(ids) == 1 and len(ids[0]) > len(b"x-request-id: "), reply[:300]


def test_tls_upstream_closing_without_close_notify_mid_body_is_a_cut(tmp_path):
    ca = CertAuthority(tmp_path)
    cert, key = ca.issue("up", "up.internal", dns=["up.internal"], ips=["127.0.0.1"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    address = f"127.0.0.1:{listener.getsockname()[1]}"

    def serve():
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                tls = ctx.wrap_socket(raw, server_side=True)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += tls.recv(65536)
                # A body that ends when the connection does: then a TCP close without the
                # TLS close_notify, as a crashing server or a cut path would leave it.
                tls.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial body")
                time.sleep(0.05)
                tls.shutdown(socket.SHUT_RDWR)  # the socket's, not TLS's: no close_notify
                tls.close()
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    log = tmp_path / "access.log"
    text, port, _ = basic_config([address], upstream_extra=f"""
  [upstream.tls]
  ca = "{ca.cert}"
  sni = "up.internal"
""")
    text = text.replace('path = "off"', f'path = "{log}"')
    try:
        with Greenlb(text) as lb:
            status, body, _ = get(port, "/")
            assert (status, body) == (200, b"partial body")
            line = wait_until(lambda: log.exists() and log.read_text().strip(), timeout=5,
                              what="the access log line")
            record = json.loads(line.splitlines()[-1])
            assert record["error"] == "upstream_body_failed", record
    finally:
        listener.close()


# --- One upstream-attempt path --------------------------------------------------------------

class Echo:
    """A TCP echo server in a thread."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    @staticmethod
    def _echo(c):
        with c:
            while data := c.recv(65536):
                c.sendall(data)


def tunnel_round_trip(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"ping")
            return s.recv(16) == b"ping"
    except OSError:
        return False


@pytest.mark.parametrize("retry_on, retried", [('["503"]', False),
                                                ('["connect_failure"]', True)])
def test_tcp_tunnels_follow_retry_on(retry_on, retried):
    echo = Echo()
    dead = f"127.0.0.1:{free_port()}"
    text, port = tcp_config(echo, workers=1, upstream_extra=f"""
  [upstream.retry]
  attempts = 1
  on = {retry_on}
  backoff = "1ms"
  [upstream.outlier]
  consecutive_failures = 0
""")
    text = text.replace(f'endpoints = ["{echo.address}"]', f'endpoints = ["{dead}", "{echo.address}"]')
    with Greenlb(text) as lb:
        results = [tunnel_round_trip(port) for _ in range(10)]
        retries = lb.metric("greenlb_upstream_retries_total", upstream="echo")
        if retried:
            assert all(results) and retries >= 5, (results, retries)
        else:
            # Round robin sends every other tunnel to the dead endpoint: not retried.
            assert results.count(False) == 5 and retries == 0, (results, retries)
    echo.sock.close()


# --- Reloads --------------------------------------------------------------------------------

def test_a_reload_keeps_the_pools_of_the_endpoints_it_kept():
    with Upstream("a") as up:
        text, port = one_hub(up.address)
        with Greenlb(text) as lb:
            assert get(port, "/")[0] == 200
            before = up.stats()["connections"]
            # The upstream's definition changes (a timeout): the reload rebuilds it, but its
            # endpoint is the same one, and so is the pool of connections to it.
            lb.reload(text + '\n  [upstream.timeouts]\n  response = "7s"\n')
            for _ in range(5):
                assert get(port, "/")[0] == 200
            assert up.stats()["connections"] == before


def test_a_body_trickled_inside_client_idle_is_cut_by_request_body():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], listener_extra="""
  [listener.timeouts]
  client_idle = "2s"
  request_body = "600ms"
""")
        with Greenlb(text) as lb:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
                s.setblocking(False)
                reply = b""
                for _ in range(100):  # a byte every 100 ms: each well inside client_idle
                    try:
                        s.sendall(b"x")
                    except OSError:
                        break
                    time.sleep(0.1)
                    try:
                        reply += s.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        break
                    if b"\r\n\r\n" in reply:
                        break
            assert reply.startswith(b"HTTP/1.1 408"), reply[:100]
            assert b"X-Request-Id: " in reply
