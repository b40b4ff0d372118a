"""The PROXY protocol both ways, through the real binary and against the real peer
(docs/proxy-protocol.md): HAProxy 2.6 `server ... send-proxy` / `send-proxy-v2` in front of
greenlb, greenlb's send_proxy_protocol in front of an HAProxy `bind ... accept-proxy`
frontend, v1 and v2, IPv4 and IPv6; a missing or malformed header closed and counted; tcp
and TLS listeners; HTTP/2 after the header; the privacy of pooled connections that sent a
header; health checks' LOCAL header; reloads.

Every address on the wire is 127.0.0.1 or ::1. The client addresses the headers carry are
documentation addresses (192.0.2.0/24, 2001:db8::/32), which HAProxy is told to use as its
client's source (`set-src`) or the test writes into its own headers: seeing one of them in
X-Forwarded-For, the access log or HAProxy's `%[src]` proves the header was read.
"""
import json
import pathlib
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from greenlb_testlib import (Greenlb, Upstream, free_port, port_open, wait_until)
from tls_certs import CertAuthority

HAPROXY = "/usr/sbin/haproxy"

pytestmark = pytest.mark.skipif(not pathlib.Path(HAPROXY).exists(),
                                reason="haproxy is not installed (deploy/install-deps.sh --test)")


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="::1 is not configured")


# --- building blocks ------------------------------------------------------------------------

class HAProxy:
    """/usr/sbin/haproxy in the foreground (-db) with a generated config in a temp dir."""

    def __init__(self, config, ports):
        self.dir = tempfile.TemporaryDirectory(prefix="haproxy-test-")
        self.path = pathlib.Path(self.dir.name) / "haproxy.cfg"
        self.path.write_text(config)
        self.log_path = pathlib.Path(self.dir.name) / "haproxy.log"
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.path)], capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.path)],
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        for host, port in ports:
            wait_until(lambda: self.proc.poll() is not None or _port_open(host, port),
                       timeout=10, what=f"haproxy on {host}:{port}")
            assert self.proc.poll() is None, self.log()

    def log(self):
        self.log_file.flush()
        return self.log_path.read_text()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.log_file.close()
        self.dir.cleanup()


def _port_open(host, port):
    if host == "127.0.0.1":
        return port_open(port)
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


HAPROXY_DEFAULTS = """
global
  maxconn 200

defaults
  timeout connect 5s
  timeout client 10s
  timeout server 10s
"""


def haproxy_in_front(mode, send, lb_port, src, bind="127.0.0.1", lb_host="127.0.0.1"):
    """HAProxy listening on `bind`, forwarding to greenlb's port with `send` (send-proxy or
    send-proxy-v2), its client's source replaced by `src` (so the header carries an address
    that only the header can have told greenlb)."""
    port = free_port()
    kind = "ipv6" if ":" in src else "ipv4"
    at = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
    config = HAPROXY_DEFAULTS + f"""
frontend fe
  mode {mode}
  bind {at}
  tcp-request connection set-src {kind}({src})
  default_backend be

backend be
  mode {mode}
  server lb {f"[{lb_host}]" if ":" in lb_host else lb_host}:{lb_port} {send}
"""
    return HAProxy(config, [(bind, port)]), port


def haproxy_behind(bind="127.0.0.1"):
    """An HAProxy frontend that requires a PROXY header (accept-proxy) and answers every
    request with the client address it learnt from it, on keep-alive connections."""
    port = free_port()
    at = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
    config = HAPROXY_DEFAULTS + f"""
frontend fe
  mode http
  option http-keep-alive
  bind {at} accept-proxy
  http-request return status 200 content-type text/plain lf-string "src=%[src] port=%[src_port] dst=%[dst]"
"""
    return HAProxy(config, [(bind, port)]), port


def lb_config(listener_extra="", upstream_endpoints=None, upstream_extra="", listen="127.0.0.1",
              protocol="http", access_log="off"):
    port, admin = free_port(), free_port()
    at = f"[{listen}]:{port}" if ":" in listen else f"{listen}:{port}"
    endpoints = ", ".join(f'"{e}"' for e in upstream_endpoints)
    return f"""
[global]
workers = 1

[admin]
listen = "127.0.0.1:{admin}"
allow_reload = true

[access_log]
path = "{access_log}"

[[listener]]
name = "web"
listen = "{at}"
protocol = "{protocol}"
upstream = "app"
{listener_extra}

[[upstream]]
name = "app"
endpoints = [{endpoints}]
{upstream_extra}
""", port


def connect(host, port, timeout=5):
    return socket.create_connection((host, port), timeout=timeout)


def read_response(sock):
    """One HTTP/1.1 response with a Content-Length body: (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return status, headers, body


def get(sock, path, host="example.test"):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return read_response(sock)


def v1_header(src, dst=None, sport=40000, dport=80):
    dst = dst or ("::1" if ":" in src else "127.0.0.1")
    family = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {family} {src} {dst} {sport} {dport}\r\n".encode()


V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_header(src, dst=None, sport=40000, dport=80, tlv=b""):
    dst = dst or ("::1" if ":" in src else "127.0.0.1")
    if ":" in src:
        fam, addrs = 0x21, socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(
            socket.AF_INET6, dst)
    else:
        fam, addrs = 0x11, socket.inet_aton(src) + socket.inet_aton(dst)
    body = addrs + struct.pack("!HH", sport, dport) + tlv
    return V2_SIGNATURE + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


def forwarded_for(headers_json):
    """X-Forwarded-For from upstream_server.py's /headers answer."""
    for k, v in json.loads(headers_json):
        if k.lower() == "x-forwarded-for":
            return v
    return None


class ProxyRecorder:
    """An upstream that requires a PROXY v1 line on each connection (as a backend behind
    HAProxy would), records it, and then serves HTTP/1.1 keep-alive requests, answering each
    with the connection's number and the line it opened with; or, with echo=True, echoes
    raw bytes after answering the line (for tcp listeners)."""

    def __init__(self, echo=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.echo = echo
        self.headers = []  # the PROXY line each connection opened with, in order
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(15)
        try:
            data = b""
            while b"\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            line, rest = data.split(b"\r\n", 1)
            with self.lock:
                self.headers.append(line.decode())
                number = len(self.headers)
            if self.echo:
                conn.sendall(b"HEADER " + line + b"\n")
                while True:
                    if rest:
                        conn.sendall(rest)
                    rest = conn.recv(4096)
                    if not rest:
                        return
            while True:
                while b"\r\n\r\n" not in rest:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    rest += chunk
                _, rest = rest.split(b"\r\n\r\n", 1)
                body = f"conn={number} {line.decode()}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def closed_without_answer(sock):
    """The peer closed without a byte. Bytes of ours it never read make its close a reset."""
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def last_check(lb):
    return lb.status()["upstreams"][0]["endpoints"][0]["last_check"]


def client_errors(lb, reason):
    return lb.metric("greenlb_client_errors_total", listener="web", reason=reason)


# --- HAProxy in front of greenlb ----------------------------------------------------------

@pytest.mark.parametrize("send,accept", [("send-proxy", "v1"), ("send-proxy-v2", "v2"),
                                         ("send-proxy", "any"), ("send-proxy-v2", "any")])
def test_haproxy_send_proxy_sets_the_client_address(send, accept):
    with Upstream("a") as up:
        config, lb_port = lb_config(f'proxy_protocol = "{accept}"', [up.address],
                                    access_log="stdout")
        with Greenlb(config) as lb:
            ha, port = haproxy_in_front("tcp", send, lb_port, "192.0.2.7")
            with ha, connect("127.0.0.1", port) as s:
                for _ in range(2):  # keep-alive: the header came once, the address stays
                    status, _, body = get(s, "/headers")
                    assert status == 200
                    assert forwarded_for(body) == "192.0.2.7"
            wait_until(lambda: lb.log().count('192.0.2.7') >= 2, what="the access log lines")
            assert client_errors(lb, "proxy_protocol") == 0


@needs_ipv6
@pytest.mark.parametrize("send", ["send-proxy", "send-proxy-v2"])
def test_haproxy_send_proxy_ipv6(send):
    # The client reaches HAProxy over ::1, HAProxy reaches greenlb's ::1 listener; the header
    # carries an IPv6 client (TCP6 / AF_INET6).
    with Upstream("a") as up:
        config, lb_port = lb_config('proxy_protocol = "any"', [up.address], listen="::1")
        with Greenlb(config) as lb:
            ha, port = haproxy_in_front("http", send, lb_port, "2001:db8::7", bind="::1",
                                        lb_host="::1")
            with ha, connect("::1", port) as s:
                status, _, body = get(s, "/headers")
                assert status == 200
                # HAProxy (http mode) adds no X-Forwarded-For of its own unless told to.
                assert forwarded_for(body) == "2001:db8::7"
            assert client_errors(lb, "proxy_protocol") == 0


def test_local_header_keeps_the_real_peer():
    # A sender's own health checks send LOCAL (v2; HAProxy's check-send-proxy): accepted,
    # and the request is the proxy's own (its real address stands).
    with Upstream("a") as up:
        config, lb_port = lb_config('proxy_protocol = "v2"', [up.address])
        with Greenlb(config) as lb:
            with connect("127.0.0.1", lb_port) as s:
                s.sendall(V2_SIGNATURE + bytes([0x20, 0x00, 0, 0]))
                status, _, body = get(s, "/headers")
                assert status == 200
                assert forwarded_for(body) == "127.0.0.1"
            with connect("127.0.0.1", lb_port) as s:
                s.sendall(b"PROXY UNKNOWN\r\n")
                # "v2" only: a v1 header is refused.
                assert closed_without_answer(s)
            assert client_errors(lb, "proxy_protocol") == 1


# --- greenlb in front of HAProxy's accept-proxy ----------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("client", ["192.0.2.9", "2001:db8::9"])
def test_send_proxy_protocol_to_haproxy(version, client):
    ha, ha_port = haproxy_behind()
    with ha:
        config, lb_port = lb_config('proxy_protocol = "v1"', [f"127.0.0.1:{ha_port}"],
                                    f'send_proxy_protocol = "{version}"\n'
                                    '[upstream.health]\npath = "/"\ninterval = "200ms"\nrise = 1\n')
        with Greenlb(config) as lb:
            # The health check's LOCAL / UNKNOWN header is accepted by HAProxy: the endpoint
            # comes up (a check without one would be refused by accept-proxy).
            wait_until(lambda: last_check(lb) is not None, what="a health check")
            assert last_check(lb)["ok"], last_check(lb)
            with connect("127.0.0.1", lb_port) as s:
                s.sendall(v1_header(client, sport=41234))
                status, _, body = get(s, "/")
                assert status == 200
                assert body.decode().startswith(f"src={client} port=41234 ")


@needs_ipv6
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_send_proxy_protocol_to_haproxy_over_ipv6(version):
    # Client -> greenlb over ::1 (no incoming header), greenlb -> HAProxy over ::1: the
    # header names the client's own ::1 address and port.
    ha, ha_port = haproxy_behind(bind="::1")
    with ha:
        config, lb_port = lb_config("", [f"[::1]:{ha_port}"],
                                    f'send_proxy_protocol = "{version}"', listen="::1")
        with Greenlb(config):
            with connect("::1", lb_port) as s:
                sport = s.getsockname()[1]
                status, _, body = get(s, "/")
                assert status == 200
                assert body.decode().startswith(f"src=::1 port={sport} dst=::1")


def test_pooled_connections_stay_with_their_client():
    # Two clients (different addresses, told to greenlb by their PROXY headers) through
    # one upstream whose connections are kept alive: a connection that sent a header for
    # one client never carries the other's request; each client's own next request reuses
    # its connection.
    with ProxyRecorder() as rec:
        config, lb_port = lb_config('proxy_protocol = "v1"', [rec.address],
                                    'send_proxy_protocol = "v1"')
        with Greenlb(config) as lb:
            a = connect("127.0.0.1", lb_port)
            b = connect("127.0.0.1", lb_port)
            with a, b:
                a.sendall(v1_header("192.0.2.1", sport=1111))
                b.sendall(v1_header("192.0.2.2", sport=2222))
                _, _, first = get(a, "/1")        # upstream connection 1, for A
                _, _, second = get(b, "/2")       # A's connection is idle: not B's to take
                _, _, third = get(a, "/3")        # A's again
                _, _, fourth = get(b, "/4")       # B's again
            assert first.decode().startswith("conn=1 PROXY TCP4 192.0.2.1 ")
            assert second.decode().startswith("conn=2 PROXY TCP4 192.0.2.2 ")
            assert third.decode() == first.decode()
            assert fourth.decode() == second.decode()
            assert len(rec.headers) == 2
            # A new client connection from A's address and port (its proxy reconnected) may
            # take A's pooled connection; one from elsewhere may not.
            with connect("127.0.0.1", lb_port) as c:
                c.sendall(v1_header("192.0.2.3", sport=3333))
                _, _, fifth = get(c, "/5")
            assert fifth.decode().startswith("conn=3 PROXY TCP4 192.0.2.3 ")
            with connect("127.0.0.1", lb_port) as c:
                c.sendall(v1_header("192.0.2.1", sport=1111))
                _, _, sixth = get(c, "/6")
            assert sixth.decode() == first.decode()


# --- refusals ------------------------------------------------------------------------------

def test_missing_or_malformed_header_closes_and_counts():
    with Upstream("a") as up:
        config, lb_port = lb_config('proxy_protocol = "any"\n[listener.timeouts]\n'
                                    'client_header = "500ms"', [up.address])
        with Greenlb(config) as lb:
            for bad in [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",          # no header at all
                        b"PROXY TCP4 192.0.2.1 banana 1 2\r\n",        # malformed v1
                        b"PROXY TCP4 192.0.2.1 " + b"9" * 200,          # over 107 bytes
                        V2_SIGNATURE + b"\x21\x41\x00\x00",            # bad v2 family
                        b"\x16\x03\x01\x00\x05hello"]:                 # TLS without header
                with connect("127.0.0.1", lb_port) as s:
                    s.sendall(bad)
                    assert closed_without_answer(s), bad
            wait_until(lambda: client_errors(lb, "proxy_protocol") == 5, what="5 counted")
            # Cut short, then silent: counted when client_header passes.
            with connect("127.0.0.1", lb_port) as s:
                s.sendall(b"PROXY TCP4 192.0.2.1 ")
                assert closed_without_answer(s)
            wait_until(lambda: client_errors(lb, "proxy_protocol") == 6, what="6 counted")
            # Silent: a header timeout, as for any client that never speaks.
            with connect("127.0.0.1", lb_port) as s:
                assert closed_without_answer(s)
            wait_until(lambda: client_errors(lb, "header_timeout") == 1, what="timeout counted")
            # A valid one still passes.
            with connect("127.0.0.1", lb_port) as s:
                s.sendall(v2_header("192.0.2.4", tlv=b"\x04\x00\x02ab"))
                status, _, body = get(s, "/headers")
                assert status == 200 and forwarded_for(body) == "192.0.2.4"


# --- tcp, TLS and HTTP/2 listeners -----------------------------------------------------------

def test_tcp_listener_through_haproxy_sends_one_header_per_connection():
    # HAProxy (tcp, send-proxy-v2) -> greenlb tcp listener (v2) -> an upstream that wants
    # v1: the original client's address crosses both hops.
    with ProxyRecorder(echo=True) as rec:
        config, lb_port = lb_config('proxy_protocol = "v2"', [rec.address],
                                    'send_proxy_protocol = "v1"', protocol="tcp")
        with Greenlb(config):
            ha, port = haproxy_in_front("tcp", "send-proxy-v2", lb_port, "192.0.2.5")
            seen = []
            with ha:
                for _ in range(2):
                    with connect("127.0.0.1", port) as s:
                        s.sendall(b"ping")
                        data = b""
                        while not data.endswith(b"ping"):
                            chunk = s.recv(4096)
                            assert chunk, data
                            data += chunk
                        assert data.startswith(b"HEADER PROXY TCP4 192.0.2.5 127.0.0.1 ")
                        seen.append(data.split(b"\n")[0][len(b"HEADER "):].decode())
            # Each client connection had its own upstream connection and header (HAProxy's
            # readiness probe, a connection of ours, may have made one more).
            assert seen[0] != seen[1]
            assert set(seen) <= set(rec.headers)


def test_tcp_listener_hashes_the_proxied_client_address():
    # maglev on "client_ip" behind a tcp listener: every connection of one client (by its
    # PROXY header, all from 127.0.0.1 on the wire) goes to the same endpoint.
    recorders = [ProxyRecorder(echo=True) for _ in range(3)]
    try:
        endpoints = [r.address for r in recorders]
        config, lb_port = lb_config('proxy_protocol = "v1"', endpoints,
                                    'balance = "maglev"\nsend_proxy_protocol = "v1"\n'
                                    '[upstream.hash]\nkey = "client_ip"', protocol="tcp")
        clients = [f"192.0.2.{i}" for i in range(20, 26)]
        with Greenlb(config):
            for client in clients:
                for sport in range(5000, 5004):
                    with connect("127.0.0.1", lb_port) as s:
                        s.sendall(v1_header(client, sport=sport) + b"ping")
                        data = b""
                        while not data.endswith(b"ping"):
                            chunk = s.recv(4096)
                            assert chunk, data
                            data += chunk
        for client in clients:
            seen_by = [i for i, r in enumerate(recorders)
                       if any(h.startswith(f"PROXY TCP4 {client} ") for h in r.headers)]
            assert len(seen_by) == 1, (client, seen_by)
    finally:
        for r in recorders:
            r.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = CertAuthority(d / "ca")
    return ca, ca.issue("a", "a.test", dns=["a.test"])


def test_tls_listener_reads_the_header_before_the_client_hello(cert):
    ca, (crt, key) = cert
    with Upstream("a") as up:
        config, lb_port = lb_config(
            f'proxy_protocol = "any"\n[listener.tls]\ncertificates = [{{ cert = "{crt}", '
            f'key = "{key}" }}]', [up.address])
        with Greenlb(config) as lb:
            ctx = ssl.create_default_context(cafile=str(ca.cert))
            raw = connect("127.0.0.1", lb_port)
            raw.sendall(v1_header("192.0.2.8"))
            with ctx.wrap_socket(raw, server_hostname="a.test") as s:
                status, _, body = get(s, "/headers", host="a.test")
                assert status == 200
                assert forwarded_for(body) == "192.0.2.8"
            # HAProxy's send-proxy-v2 in front of the TLS listener, TLS passed through.
            ha, port = haproxy_in_front("tcp", "send-proxy-v2", lb_port, "192.0.2.6")
            with ha:
                ha_ctx = ssl.create_default_context(cafile=str(ca.cert))
                with ha_ctx.wrap_socket(connect("127.0.0.1", port), server_hostname="a.test") as s:
                    status, _, body = get(s, "/headers", host="a.test")
                    assert status == 200
                    assert forwarded_for(body) == "192.0.2.6"
            assert client_errors(lb, "proxy_protocol") == 0


def test_send_proxy_protocol_comes_before_upstream_tls(cert):
    # HAProxy's `bind ... accept-proxy ssl`: the header, then the TLS handshake, as
    # HAProxy's own send-proxy does in front of a TLS server.
    ca, (crt, key) = cert
    with tempfile.TemporaryDirectory() as d:
        pem = pathlib.Path(d) / "a.pem"
        pem.write_text(pathlib.Path(crt).read_text() + pathlib.Path(key).read_text())
        port = free_port()
        ha = HAProxy(HAPROXY_DEFAULTS + f"""
frontend fe
  mode http
  bind 127.0.0.1:{port} accept-proxy ssl crt {pem}
  http-request return status 200 content-type text/plain lf-string "src=%[src] tls=%[ssl_fc]"
""", [("127.0.0.1", port)])
        with ha:
            config, lb_port = lb_config(
                'proxy_protocol = "v2"', [f"127.0.0.1:{port}"],
                f'send_proxy_protocol = "v2"\n[upstream.tls]\nca = "{ca.cert}"\nsni = "a.test"')
            with Greenlb(config), connect("127.0.0.1", lb_port) as s:
                s.sendall(v2_header("198.51.100.20"))
                status, _, body = get(s, "/")
                assert status == 200
                assert body == b"src=198.51.100.20 tls=1"


def test_h2c_after_the_header():
    import h2.config
    import h2.connection
    import h2.events
    with Upstream("a") as up:
        config, lb_port = lb_config('proxy_protocol = "v2"', [up.address])
        with Greenlb(config):
            with connect("127.0.0.1", lb_port) as s:
                s.sendall(v2_header("2001:db8::42"))
                conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
                conn.initiate_connection()
                sid = conn.get_next_available_stream_id()
                conn.send_headers(sid, [(":method", "GET"), (":path", "/headers"),
                                        (":scheme", "http"), (":authority", "example.test")],
                                  end_stream=True)
                s.sendall(conn.data_to_send())
                body, status, done = b"", None, False
                deadline = time.monotonic() + 10
                while not done and time.monotonic() < deadline:
                    data = s.recv(65536)
                    assert data
                    for ev in conn.receive_data(data):
                        if isinstance(ev, h2.events.ResponseReceived):
                            status = dict(ev.headers)[b":status"]
                        elif isinstance(ev, h2.events.DataReceived):
                            body += ev.data
                            conn.acknowledge_received_data(ev.flow_controlled_length, sid)
                        elif isinstance(ev, h2.events.StreamEnded):
                            done = True
                    s.sendall(conn.data_to_send())
                assert status == b"200"
                assert forwarded_for(body) == "2001:db8::42"


# --- configuration ---------------------------------------------------------------------------

def test_reload_changes_what_new_connections_must_send():
    with Upstream("a") as up:
        config, lb_port = lb_config('proxy_protocol = "v1"', [up.address])
        with Greenlb(config) as lb:
            with connect("127.0.0.1", lb_port) as s:
                s.sendall(v1_header("192.0.2.10"))
                assert forwarded_for(get(s, "/headers")[2]) == "192.0.2.10"
            kept = connect("127.0.0.1", lb_port)  # accepted before the reload: owes a header
            lb.reload(config.replace('proxy_protocol = "v1"', 'proxy_protocol = "off"'))
            with connect("127.0.0.1", lb_port) as s:
                assert forwarded_for(get(s, "/headers")[2]) == "127.0.0.1"
            with kept:
                kept.sendall(v1_header("192.0.2.11"))
                assert forwarded_for(get(kept, "/headers")[2]) == "192.0.2.11"


def test_check_refuses_send_proxy_protocol_on_http2_upstreams():
    config, _ = lb_config("", ["127.0.0.1:1"], 'protocol = "http2"\nsend_proxy_protocol = "v2"')
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "greenlb.toml"
        path.write_text(config)
        from greenlb_testlib import GREENLB_BIN
        r = subprocess.run([GREENLB_BIN, "--check", "-c", str(path)], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1
        assert "send_proxy_protocol needs protocol = \"http1\"" in r.stdout + r.stderr
        line = next(i for i, l in enumerate(config.splitlines(), 1) if "send_proxy_protocol" in l)
        assert f"{path}:{line}:" in r.stdout + r.stderr
