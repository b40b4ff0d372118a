"""A route's header rules and prefix rewrite (docs/proxying.md, "Header rules and prefix
rewrite") against the real binary: what HTTP/1.1 and HTTP/2 upstreams received and what
HTTP/1.1 and HTTP/2 clients got back, variables expanded, a websocket upgrade, reloads."""
import socket
import subprocess
import threading

import h2.config
import h2.connection
import h2.events
import pytest

from greenlb_testlib import GREENLB_BIN, Greenlb, free_port, http_get, raw_exchange, wait_until
from h2_client import H2Client
from recording_upstream import RecordingUpstream, ok

RESPONSE_EXTRA = b"Server: recorder\r\nX-Remove: 1\r\nX-Keep: k\r\nX-Resp: upstream's\r\n"


def answer(sock, req, index):
    sock.sendall(ok(b"ok", extra=RESPONSE_EXTRA))
    return True


class H2Recorder:
    """An h2c upstream (prior knowledge) in a thread: records each request's header list
    and answers 200 "ok" with the same extra fields the HTTP/1.1 recorder sends."""

    def __init__(self):
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self.requests = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                for e in conn.receive_data(data):
                    if isinstance(e, h2.events.RequestReceived):
                        headers = [(k.decode() if isinstance(k, bytes) else k,
                                    v.decode() if isinstance(v, bytes) else v)
                                   for k, v in e.headers]
                        with self._lock:
                            self.requests.append(headers)
                    elif isinstance(e, h2.events.StreamEnded):
                        conn.send_headers(e.stream_id, [
                            (":status", "200"), ("server", "h2-recorder"), ("x-remove", "1"),
                            ("x-keep", "k"), ("x-resp", "upstream's"), ("content-length", "2")])
                        conn.send_data(e.stream_id, b"ok", end_stream=True)
                    elif isinstance(e, h2.events.DataReceived):
                        conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                sock.sendall(conn.data_to_send())
        except OSError:
            pass
        finally:
            sock.close()

    def stop(self):
        self._listener.close()


RULES = """
  request_headers = { set = { "X-Env" = "%(env)s", "X-Vars" = "${client_ip}|${request_id}|${listener}|${upstream}" }, add = { "X-Added" = "a" }, remove = ["X-Debug"] }
  response_headers = { set = { "X-Resp" = "${upstream}" }, add = { "X-Added" = "r" }, remove = ["Server", "X-Remove"] }
"""


def config(port, admin, h1, h2, env="prod"):
    rules = RULES % {"env": env}
    return f"""
[global]
workers = 2

[admin]
listen = "127.0.0.1:{admin}"

[access_log]
path = "off"

[[listener]]
name = "web"
listen = "127.0.0.1:{port}"

  [[listener.route]]
  path_prefix = "/api/"
  rewrite_prefix = "/"
  upstream = "h1"
{rules}
  [[listener.route]]
  path_prefix = "/grpcish/"
  rewrite_prefix = "/v2/"
  upstream = "h2"
{rules}
  [[listener.route]]
  upstream = "h1"

[[upstream]]
name = "h1"
endpoints = ["{h1.address}"]

[[upstream]]
name = "h2"
protocol = "http2"
endpoints = ["{h2.address}"]
"""


@pytest.fixture
def env():
    with RecordingUpstream(handler=answer) as h1:
        h2up = H2Recorder()
        port, admin = free_port(), free_port()
        try:
            with Greenlb(config(port, admin, h1, h2up)) as lb:
                yield lb, port, admin, h1, h2up
        finally:
            h2up.stop()


def fields(headers):
    """{lower-case name: [values]} of a recorded header list."""
    out = {}
    for n, v in headers:
        n = n.decode() if isinstance(n, bytes) else n
        v = v.decode() if isinstance(v, bytes) else v
        out.setdefault(n.lower(), []).append(v)
    return out


def check_request(f, upstream, request_id=None):
    assert f["x-env"] == ["prod"]
    assert "x-debug" not in f
    assert f["x-added"] == ["a"]
    rid = f["x-request-id"]
    assert len(rid) == 1
    if request_id is not None:
        assert rid == [request_id]
    # ${request_id} is the X-Request-Id the upstream saw; the proxy's own fields stay.
    assert f["x-vars"] == [f"127.0.0.1|{rid[0]}|web|{upstream}"]
    assert f["x-forwarded-for"] == ["127.0.0.1"]


def check_response(headers, upstream):
    h = {k.lower(): v for k, v in headers.items()}
    assert "server" not in h and "x-remove" not in h
    assert h["x-keep"] == "k"
    assert h["x-resp"] == upstream
    assert h["x-added"] == "r"
    assert h["x-request-id"]


SENT = {"X-Env": "dev", "X-Debug": "1", "X-Request-Id": "client-rid-1"}


def send(client, port, path, headers):
    """(status, response headers, body) of one GET over HTTP/1.1 or HTTP/2."""
    if client == "http1":
        return http_get(port, path, headers=headers)
    with H2Client(port) as c:
        sid = c.request("GET", path, headers=[(k.lower(), v) for k, v in headers.items()])
        status, response_headers, body, _ = c.response(sid)
    return status, response_headers, body


@pytest.mark.parametrize("client", ["http1", "http2"])
@pytest.mark.parametrize("upstream", ["h1", "h2"])
def test_rules_and_rewrite_for_every_protocol_pair(env, client, upstream):
    lb, port, _, h1, h2up = env
    prefix = "/api/" if upstream == "h1" else "/grpcish/"
    status, headers, body = send(client, port, prefix + "users?id=1&q=/api/", SENT)
    assert status == 200 and body == b"ok"
    if upstream == "h1":
        req = h1.requests()[-1]
        target, f = req.target.decode(), fields(req.headers)
    else:
        f = fields(h2up.requests[-1])
        target = f[":path"][0]
    assert target == ("/" if upstream == "h1" else "/v2/") + "users?id=1&q=/api/"
    check_request(f, upstream, "client-rid-1")
    check_response(headers, upstream)


def test_generated_request_id_is_the_one_the_upstream_saw(env):
    lb, port, _, _, h2up = env
    status, headers, body = send("http2", port, "/grpcish/c", {"X-Env": "dev", "X-Debug": "1"})
    assert status == 200 and body == b"ok"
    f = fields(h2up.requests[-1])
    assert f[":path"] == ["/v2/c"]
    check_request(f, "h2")
    check_response(headers, "h2")
    assert headers["x-request-id"] == f["x-request-id"][0]


def test_route_without_rules_is_untouched(env):
    lb, port, _, h1, _ = env
    status, headers, _ = http_get(port, "/other?z", headers=SENT)
    assert status == 200
    req = h1.requests()[-1]
    assert req.target == b"/other?z"
    f = fields(req.headers)
    assert f["x-env"] == ["dev"] and f["x-debug"] == ["1"] and "x-added" not in f
    assert headers["server"] == "recorder"


def test_websocket_upgrade_gets_request_rules():
    def upgrade(sock, req, index):
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nServer: recorder\r\n\r\n")
        return False
    with RecordingUpstream(handler=upgrade) as h1:
        h2up = H2Recorder()
        port, admin = free_port(), free_port()
        try:
            with Greenlb(config(port, admin, h1, h2up)) as lb:
                reply = raw_exchange(port, b"GET /api/ws?t=1 HTTP/1.1\r\nHost: h\r\n"
                                           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                           b"X-Debug: 1\r\n\r\n", timeout=5)
                assert reply.startswith(b"HTTP/1.1 101"), reply[:200]
                assert b"Server:" not in reply and b"X-Resp: h1" in reply
                req = h1.requests()[-1]
                assert req.target == b"/ws?t=1"
                f = fields(req.headers)
                assert f["x-env"] == ["prod"] and "x-debug" not in f
                assert f["upgrade"] == ["websocket"]
        finally:
            h2up.stop()


def test_reload_changes_a_rule_and_a_bad_rule_keeps_the_running_config(env):
    lb, port, admin, h1, h2up = env
    lb.reload(config(port, admin, h1, h2up, env="staging"))
    http_get(port, "/api/r")
    assert fields(h1.requests()[-1].headers)["x-env"] == ["staging"]
    bad = config(port, admin, h1, h2up, env="x").replace('"X-Debug"', '"Connection"', 1)
    lb.reload(bad, expect_success=False)
    http_get(port, "/api/r2")
    f = fields(h1.requests()[-1].headers)
    assert f["x-env"] == ["staging"]
    assert "header \"Connection\" in 'remove' is a hop-by-hop or framing header" in lb.log()


class Nowhere:
    def __init__(self, port):
        self.address = f"127.0.0.1:{port}"


def test_check_points_at_a_forbidden_header(tmp_path):
    path = tmp_path / "greenlb.toml"
    text = config(free_port(), free_port(), Nowhere(1), Nowhere(2))
    text = text.replace('remove = ["X-Debug"]', 'remove = ["Transfer-Encoding"]', 1)
    text = text.replace('"X-Resp" = "${upstream}"', '"X-Resp" = "${nope}"', 1)
    path.write_text(text)
    lines = text.splitlines()
    te_line = next(i for i, l in enumerate(lines, 1) if "Transfer-Encoding" in l)
    nope_line = next(i for i, l in enumerate(lines, 1) if "${nope}" in l)
    r = subprocess.run([GREENLB_BIN, "--check", "-c", str(path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    out = r.stdout + r.stderr
    te_col = lines[te_line - 1].index('"Transfer-Encoding"') + 1
    assert f"{path}:{te_line}:{te_col}: error: header \"Transfer-Encoding\" in 'remove'" in out, out
    assert f"{path}:{nope_line}:" in out and "unknown variable \"${nope}\"" in out, out
