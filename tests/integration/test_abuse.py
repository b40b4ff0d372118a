"""Slow and abusive clients, connection floods and faulty backends (issue 11, docs/proxying.md).

The 15,000-idle-connection test needs more fds than an ASan run affords: it lives in
test_abuse_nosan.py.
"""
import selectors
import socket
import threading
import time

import pytest

from fault_upstream import FaultUpstream
from greenlb_testlib import (Greenlb, Upstream, basic_config, http_get, open_fds, rss_kib,
                             wait_until)


def under_asan(pid):
    """ASan's shadow memory and quarantine make RSS figures meaningless."""
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    return "libasan" in maps or "libclang_rt.asan" in maps


def read_until_close(sock, timeout):
    """Everything the peer sends until it closes: (bytes, closed)."""
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return out, True
            out += data
    except socket.timeout:
        return out, False
    except ConnectionResetError:
        return out, True


def fibers(lb):
    return sum(h["fibers"] for h in lb.status()["hubs"])


class Background:
    """GET / in a loop from a thread while something else happens: counts statuses."""

    def __init__(self, port, path="/"):
        self.port, self.path = port, path
        self.statuses = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.statuses.append(http_get(self.port, self.path, timeout=5)[0])
            except OSError as e:
                self.statuses.append(repr(e))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)


# --- slow clients ---------------------------------------------------------------------------

def test_slowloris_gets_408_at_client_header_while_others_are_served():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra="""
  [listener.timeouts]
  client_header = "3s"
""")
        with Greenlb(text) as lb:
            head = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: slowloris\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n"
            loris = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
            sent = [0] * len(loris)
            replies = [b""] * len(loris)
            closed = [False] * len(loris)
            sel = selectors.DefaultSelector()
            for i, s in enumerate(loris):
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, i)
            with Background(port) as others:
                deadline = time.monotonic() + 15
                next_byte = time.monotonic()
                while not all(closed) and time.monotonic() < deadline:
                    if time.monotonic() >= next_byte:  # one byte a second on each
                        for i, s in enumerate(loris):
                            if not closed[i] and sent[i] < len(head):
                                try:
                                    sent[i] += s.send(head[sent[i]:sent[i] + 1])
                                except OSError:
                                    pass
                        next_byte += 1.0
                    for key, _ in sel.select(timeout=0.1):
                        i = key.data
                        try:
                            data = loris[i].recv(4096)
                        except ConnectionResetError:
                            data = b""
                        replies[i] += data
                        if not data:
                            closed[i] = True
                            sel.unregister(loris[i])
            for s in loris:
                s.close()
            assert all(closed)
            for i in range(len(loris)):
                assert replies[i].startswith(b"HTTP/1.1 408"), replies[i][:100]
                assert sent[i] < len(head)  # cut while still trickling: the head's own deadline
            assert others.statuses and all(s == 200 for s in others.statuses), others.statuses[-5:]
            assert lb.metric("greenlb_client_errors_total", listener="web",
                             reason="header_timeout") == len(loris)


def test_slow_request_body_gets_408_and_the_upstream_connection_is_closed():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra="""
  [listener.timeouts]
  client_idle = "1s"
""")
        with Greenlb(text) as lb:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"b" * 1000)
                # (the upstream counts the /_stats connection asking, too)
                wait_until(lambda: a.stats()["open"] == 2, timeout=5, what="the upstream request")
                reply, closed = read_until_close(s, timeout=10)
            assert reply.startswith(b"HTTP/1.1 408") and closed, reply[:100]
            assert b"Connection: close" in reply
            # The half-sent request is not left on a pooled upstream connection.
            wait_until(lambda: a.stats()["open"] == 1, timeout=5, what="the upstream connection to close")
            assert a.stats()["requests"] == 0
            assert http_get(port, "/")[0] == 200


def test_never_reading_client_of_a_large_response_times_out_and_memory_stays_flat():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra="""
  [listener.timeouts]
  client_idle = "1s"
""")
        with Greenlb(text) as lb:
            for _ in range(20):  # warm up buffer pools and stacks
                http_get(port, "/big?bytes=100000")
            rss_before = rss_kib(lb.pid())
            upstream_open = a.stats()["open"]  # pooled ones and the /_stats one
            clients = []
            for _ in range(20):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect(("127.0.0.1", port))
                s.sendall(b"GET /big?bytes=100000000 HTTP/1.1\r\nHost: x\r\n\r\n")
                clients.append(s)
            with Background(port) as others:
                wait_until(lambda: lb.metric("greenlb_connections_active", listener="web") <= 1,
                           timeout=20, what="the never-reading clients to be cut")
            rss_after = rss_kib(lb.pid())
            for s in clients:
                s.close()
            assert others.statuses and all(s == 200 for s in others.statuses)
            # Each upstream connection was closed with its client (nothing half-read pooled).
            wait_until(lambda: a.stats()["open"] <= upstream_open, timeout=5,
                       what="upstream connections closed")
            if not under_asan(lb.pid()):
                # Streamed with backpressure: nothing like 20 x 100 MB was buffered.
                assert rss_after - rss_before < 16 * 1024, (rss_before, rss_after)


# --- connection floods ------------------------------------------------------------------------

def test_flood_beyond_max_connections_is_refused_cleanly_and_service_resumes():
    limit, flood = 100, 1000
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], extra_global=f"max_connections = {limit}",
                                     listener_extra="""
  [listener.timeouts]
  client_header = "30s"
""")
        with Greenlb(text) as lb:
            socks = []
            for _ in range(flood):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                socks.append(s)
            sel = selectors.DefaultSelector()
            for i, s in enumerate(socks):
                sel.register(s, selectors.EVENT_READ, i)
            shut = set()

            def reap():
                for key, _ in sel.select(timeout=0.05):
                    try:
                        data = socks[key.data].recv(1)
                    except (ConnectionResetError, BlockingIOError):
                        data = b""
                    assert data == b"", data  # closed without a word
                    shut.add(key.data)
                    sel.unregister(socks[key.data])
                return len(shut) >= flood - limit

            wait_until(reap, timeout=30, interval=0, what="the connections over the limit to close")
            time.sleep(0.3)
            reap()
            assert len(shut) == flood - limit
            assert lb.metric("greenlb_connections_active", listener="web") == limit
            # At the limit: a new client is closed at once, not left hanging; admin still answers.
            with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
                reply, closed = read_until_close(extra, timeout=5)
            assert closed and reply == b""
            assert lb.admin_get("/healthz")[0] == 200
            for s in socks:
                s.close()
            wait_until(lambda: lb.metric("greenlb_connections_active", listener="web") == 0,
                       timeout=10, what="the flood to be released")
            for _ in range(20):
                assert http_get(port, "/")[0] == 200
            assert lb.proc.poll() is None


# --- faulty backends ----------------------------------------------------------------------------

UPSTREAM_FAULT_SETTINGS = """
  [upstream.timeouts]
  connect = "300ms"
  response = "500ms"
  idle = "500ms"
  [upstream.outlier]
  consecutive_failures = 0
"""


@pytest.fixture(scope="module")
def faults():
    with FaultUpstream("ok") as fault, FaultUpstream("blackhole") as hole, \
            FaultUpstream("ok") as good:
        text, port, _ = basic_config([fault.address, good.address],
                                     upstream_extra=UPSTREAM_FAULT_SETTINGS + """
  [upstream.retry]
  attempts = 2
  on = ["connect_failure", "reset", "503", "timeout"]
  backoff = "1ms"
""", listener_extra="""
  [[listener.route]]
  path_prefix = "/solo/"
  upstream = "solo"
  [[listener.route]]
  path_prefix = "/hole/"
  upstream = "hole"
  [[listener.route]]
  path_prefix = "/hole-solo/"
  upstream = "hole_solo"
""")
        for name, endpoints in (("solo", [fault]), ("hole", [hole, good]), ("hole_solo", [hole])):
            text += f"""
[[upstream]]
name = "{name}"
endpoints = [{", ".join(f'"{e.address}"' for e in endpoints)}]
{UPSTREAM_FAULT_SETTINGS}
  [upstream.retry]
  attempts = {2 if name == "hole" else 0}
  backoff = "1ms"
"""
        with Greenlb(text) as lb:
            for _ in range(10):
                http_get(port, "/")
            baseline = {"fds": open_fds(lb.pid()), "rss": rss_kib(lb.pid()), "fibers": fibers(lb)}
            yield lb, port, fault, baseline
            fault.mode = "ok"


# Faults a retry on the other endpoint hides from the client, and the status the client gets
# when there is no other endpoint.
RETRYABLE = [
    ("reset_before_response", 502),
    ("close_before_response", 502),
    ("half_close", 502),
    ("garbage", 502),
    ("stall", 504),
    ("no_read", 504),
]


@pytest.mark.parametrize("mode, alone", RETRYABLE, ids=[m for m, _ in RETRYABLE])
def test_fault_before_the_response_costs_a_retry_not_an_error(faults, mode, alone):
    lb, port, fault, _ = faults
    fault.mode = mode
    try:
        hits = fault.connections
        retries = lb.metric("greenlb_upstream_retries_total", upstream="app")
        statuses = [http_get(port, f"/r{i}", timeout=10)[0] for i in range(8)]
        assert statuses == [200] * 8
        assert fault.connections > hits  # the faulty endpoint was tried
        assert lb.metric("greenlb_upstream_retries_total", upstream="app") > retries

        # Alone, the same fault is one bounded 502 or 504, and the proxy goes on serving.
        status, headers, body = http_get(port, "/solo/x", timeout=10)
        assert status == alone
        assert "x-request-id" in headers and b"127.0.0.1" not in body
    finally:
        fault.mode = "ok"
    assert http_get(port, "/solo/x")[0] == 200


# Malformed upstream responses: a bad head, or body framing already broken in the bytes
# that came with the head, is a 502 (nothing of it reaches the client); a body whose
# framing breaks after the head was relayed cuts the client connection.
BAD_HEADS = [
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", id="cl-and-te"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", id="differing-cl"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", id="negative-cl"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", id="te-not-chunked"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n", id="obs-fold"),
    pytest.param(b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", id="bare-lf"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n", id="nul"),
    pytest.param(b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", id="status-99"),
    pytest.param(b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", id="status-600"),
    pytest.param(b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", id="http2-status-line"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n", id="head-too-large"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", id="head-cut-short"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n", id="chunk-size-in-hand"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", id="chunk-no-crlf-in-hand"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", id="chunk-0x-in-hand"),
]


@pytest.mark.parametrize("raw", BAD_HEADS)
def test_malformed_upstream_head_is_a_502_and_nothing_of_it_leaks(faults, raw):
    lb, port, fault, _ = faults
    fault.mode, fault.raw_response = "raw", raw
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /solo/x HTTP/1.1\r\nHost: x\r\n\r\n")
            first = b""
            while b"\r\n\r\n" not in first or not first.endswith(b"Bad Gateway\n"):
                data = s.recv(65536)
                assert data, first
                first += data
            fault.mode = "ok"
            s.sendall(b"GET /solo/y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            second, _ = read_until_close(s, timeout=5)
    finally:
        fault.mode = "ok"
    assert first.startswith(b"HTTP/1.1 502") and first.count(b"HTTP/1.1") == 1, first[:200]
    assert b"X-Big" not in first and b"X-A" not in first and b"Odd" not in first
    # The connection was kept (the 502 is about the upstream) and serves the next request.
    assert second.startswith(b"HTTP/1.1 200") and second.endswith(b"ok\n"), second[-200:]


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
BAD_BODIES = [
    pytest.param((CHUNKED_HEAD, b"zz\r\n"), id="chunk-size"),
    pytest.param((CHUNKED_HEAD, b"5\r\nhelloXX0\r\n\r\n"), id="chunk-no-crlf"),
    pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", id="chunked-eof"),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", id="cl-eof"),
]


@pytest.mark.parametrize("raw", BAD_BODIES)
def test_upstream_body_breaking_after_the_head_cuts_the_client_connection(faults, raw):
    lb, port, fault, _ = faults
    fault.mode, fault.raw_response = "raw", raw
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /solo/x HTTP/1.1\r\nHost: x\r\n\r\n")
            reply, closed = read_until_close(s, timeout=5)
    finally:
        fault.mode = "ok"
    assert reply.startswith(b"HTTP/1.1 200") and closed
    assert reply.count(b"HTTP/1.1") == 1
    if b"chunked" in raw:  # the client can see the body did not end
        body = reply.split(b"\r\n\r\n", 1)[1]
        assert not body.endswith(b"0\r\n\r\n"), body


def test_blackholed_connect_times_out_into_a_retry_or_a_502(faults):
    lb, port, _, _ = faults
    timeouts = lb.metric("greenlb_upstream_timeouts_total", upstream="hole", kind="connect")
    assert [http_get(port, f"/hole/{i}", timeout=10)[0] for i in range(4)] == [200] * 4
    assert lb.metric("greenlb_upstream_timeouts_total", upstream="hole", kind="connect") > timeouts
    assert http_get(port, "/hole-solo/x", timeout=10)[0] == 502
    assert lb.metric("greenlb_upstream_timeouts_total", upstream="hole_solo", kind="connect") == 1


def test_reset_mid_body_cuts_the_client_connection(faults):
    lb, port, fault, _ = faults
    fault.mode = "reset_mid_body"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /solo/big HTTP/1.1\r\nHost: x\r\n\r\n")
            reply, closed = read_until_close(s, timeout=10)
    finally:
        fault.mode = "ok"
    # The head and part of the body were relayed: all the proxy can do is cut the connection.
    assert reply.startswith(b"HTTP/1.1 200") and closed
    head, body = reply.split(b"\r\n\r\n", 1)
    assert b"Content-Length: 1048576" in head and 0 < len(body) < 1048576


def test_unasked_response_on_a_pooled_connection_never_reaches_a_client(faults):
    lb, port, fault, _ = faults
    fault.mode = "double_response"
    try:
        # The extra response arrives while the connection sits in the pool (reused 80 ms
        # later): the pool must drop it, not hand it to the next request. (Extra bytes that
        # arrive only after a reused connection carried a new request cannot be told from
        # its response by any HTTP/1.1 proxy.)
        bodies = []
        for _ in range(12):
            bodies.append(http_get(port, "/solo/x")[2])
            time.sleep(0.08)
    finally:
        fault.mode = "ok"
    assert bodies == [b"ok\n"] * 12


def test_upstream_that_never_reads_a_large_body_is_a_bounded_error(faults):
    lb, port, fault, _ = faults
    fault.mode = "no_read"
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        body = b"z" * (8 << 20)
        sender = threading.Thread(target=lambda: _send_quietly(
            s, b"PUT /solo/upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body),
            daemon=True)
        sender.start()
        reply, closed = read_until_close(s, timeout=15)
        s.close()
        sender.join(timeout=10)
    finally:
        fault.mode = "ok"
    assert reply.split(b"\r\n")[0] in (b"HTTP/1.1 502 Bad Gateway", b"HTTP/1.1 504 Gateway Timeout"), reply[:100]
    assert closed


def _send_quietly(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass  # the proxy gave up on the body and closed


def test_no_fd_or_memory_leak_and_no_stuck_fibers_after_the_faults(faults):
    lb, port, fault, baseline = faults
    wait_until(lambda: lb.metric("greenlb_connections_active", listener="web") == 0, timeout=10,
               what="client connections to close")
    # Pooled connections to the good endpoint may stay; the faulty ones must all be gone.
    wait_until(lambda: open_fds(lb.pid()) <= baseline["fds"] + 4, timeout=10,
               what=f"fds back to baseline {baseline['fds']} (now {open_fds(lb.pid())})")
    assert fibers(lb) <= baseline["fibers"], lb.status()["hubs"]
    if not under_asan(lb.pid()):
        assert rss_kib(lb.pid()) - baseline["rss"] < 16 * 1024
    assert [http_get(port, "/")[0] for _ in range(5)] == [200] * 5
