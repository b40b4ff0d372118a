"""Fresh connections start dormant (issue 4): a TLS connection holds no fiber until its
client's first byte, and a plain HTTP one only long enough to look for its request. What
that must not change: a request or ClientHello already in the socket at accept is served
(found by that look, or reported by the epoll registration: no wait for client_header), a
silent client is closed and counted at client_header, drain closes never-spoken
connections at once while one that speaks during drain_delay is still served, and
max_connections still counts them. (A plain tcp listener still connects to its upstream at
once: test_proxy_tunnels.py's banner. Memory per silent client: test_abuse_nosan.py.)"""
import contextlib
import os
import signal
import socket
import ssl
import threading

import pytest

from greenlb_testlib import (Greenlb, RawHttpConnection, Upstream, basic_config, http_get,
                             wait_until)
from tls_certs import CertAuthority

GET = b"GET / HTTP/1.1\r\nHost: greenlb.test\r\n\r\n"


@contextlib.contextmanager
def stopped(lb):
    """greenlb stopped (SIGSTOP): the kernel still completes handshakes into the listen
    backlog and queues what clients send, so on SIGCONT accept() returns sockets that already
    hold their client's first bytes."""
    os.kill(lb.pid(), signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(lb.pid(), signal.SIGCONT)


def closed_silently(sock):
    """True when the proxy closed `sock` without sending a byte (waits for it)."""
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    ca = CertAuthority(tmp_path_factory.mktemp("pki") / "ca")
    cert, key = ca.issue("a", "a.test", dns=["a.test"])
    listener = f"""
  [listener.tls]
  certificates = [{{ cert = "{cert}", key = "{key}" }}]
"""
    return ca, listener


def test_request_already_in_the_socket_at_accept_is_served():
    with Upstream("a") as a:
        # An hour: a request the dormant watch missed would wait for it, not be answered.
        text, port, _ = basic_config([a.address], listener_extra="""
  [listener.timeouts]
  client_header = "1h"
""")
        with Greenlb(text) as lb:
            conns = []
            with stopped(lb):
                for _ in range(20):
                    c = RawHttpConnection(port, timeout=10)
                    c.sock.sendall(GET)
                    conns.append(c)
            for c in conns:
                status, _, body = c.read_response()
                assert status == 200 and body
                c.close()
            assert lb.metric("greenlb_client_errors_total", listener="web") == 0


def test_client_hello_already_in_the_socket_at_accept_is_answered(certs):
    ca, tls = certs
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra=tls + """
  [listener.timeouts]
  client_header = "1h"
""")
        with Greenlb(text) as lb:
            ctx = ssl.create_default_context(cafile=str(ca.cert))
            clients = []
            with stopped(lb):
                for _ in range(10):
                    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
                    s = ctx.wrap_socket(raw, server_hostname="a.test",
                                        do_handshake_on_connect=False)
                    s.setblocking(False)
                    with pytest.raises(ssl.SSLWantReadError):
                        s.do_handshake()  # the ClientHello is sent; greenlb cannot answer yet
                    clients.append(s)
            for s in clients:
                s.settimeout(10)
                s.do_handshake()
                s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                assert data.startswith(b"HTTP/1.1 200"), data[:100]
                s.close()
            assert lb.metric("greenlb_tls_handshakes_total", listener="web",
                             result="success") == 10


def test_never_speaking_client_is_closed_at_client_header_and_counted():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra="""
  [listener.timeouts]
  client_header = "500ms"
  client_idle = "1h"
""")
        with Greenlb(text) as lb:
            silent = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]
            # Served meanwhile, and kept alive: an idle keep-alive connection is not one of them.
            kept = RawHttpConnection(port)
            assert kept.request("/")[0] == 200
            for s in silent:
                assert closed_silently(s)  # nothing said, so no 408 owed
                s.close()
            wait_until(lambda: lb.metric("greenlb_client_errors_total", listener="web",
                                         reason="header_timeout") == 5,
                       what="five header timeouts counted")
            wait_until(lambda: lb.metric("greenlb_connections_active", listener="web") == 1,
                       what="only the kept-alive connection left")
            assert kept.request("/")[0] == 200
            assert lb.metric("greenlb_client_errors_total", listener="web") == 5


def test_never_speaking_tls_client_is_closed_at_client_header_as_a_failed_handshake(certs):
    _, tls = certs
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], listener_extra=tls + """
  [listener.timeouts]
  client_header = "500ms"
""")
        with Greenlb(text) as lb:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                assert closed_silently(s)
            # As before it started dormant: a handshake that never came is a failed one.
            wait_until(lambda: lb.metric("greenlb_tls_handshakes_total", listener="web",
                                         result="failure") == 1, what="failed handshake counted")
            assert lb.metric("greenlb_connections_active", listener="web") == 0


def test_max_connections_counts_never_spoken_connections_until_they_close():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], extra_global="max_connections = 2",
                                     listener_extra="""
  [listener.timeouts]
  client_header = "1s"
""")
        with Greenlb(text) as lb:
            silent = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
            wait_until(lambda: lb.metric("greenlb_connections_active", listener="web") == 2,
                       what="two connections accepted")
            with socket.create_connection(("127.0.0.1", port), timeout=10) as over:
                assert closed_silently(over)  # over the limit: refused at accept
            for s in silent:
                assert closed_silently(s)  # client_header
                s.close()
            wait_until(lambda: lb.metric("greenlb_connections_active", listener="web") == 0,
                       what="the silent connections gone")
            assert http_get(port, "/")[0] == 200  # their places are free again


def test_drain_closes_never_spoken_connections_at_once_and_serves_late_speakers():
    with Upstream("a") as a:
        # graceful_timeout is basic_config's 5s: after drain_delay, time for the slow request.
        text, port, _ = basic_config([a.address], extra_global='drain_delay = "2s"',
                                     listener_extra="""
  [listener.timeouts]
  client_header = "1h"
""")
        with Greenlb(text) as lb:
            early = RawHttpConnection(port)  # connects, then says nothing until the drain
            wait_until(lambda: lb.metric("greenlb_connections_active", listener="web") == 1,
                       what="the early connection accepted")
            lb.send_signal(signal.SIGTERM)
            wait_until(lambda: not lb.ready(), what="/readyz 503")
            # During drain_delay the listener still accepts, and a connection that speaks only
            # now is served.
            assert early.request("/")[0] == 200
            # A slow request in flight, and a connection that never speaks.
            slow = RawHttpConnection(port)
            slow.sock.sendall(b"GET /slow?ms=4000 HTTP/1.1\r\nHost: greenlb.test\r\n\r\n")
            silent = socket.create_connection(("127.0.0.1", port), timeout=20)
            answered = threading.Event()

            def finish_slow():
                slow.read_response()
                answered.set()

            reader = threading.Thread(target=finish_slow, daemon=True)
            reader.start()
            # When drain_delay ends the listeners close and the silent connection with them,
            # not after the graceful wait for the slow request.
            assert closed_silently(silent)
            assert not answered.is_set()
            silent.close()
            early.close()
            reader.join(timeout=20)
            assert answered.is_set()
            assert lb.proc.wait(timeout=20) == 0
            assert "drained: every connection finished" in lb.log()

