"""HTTP/2 from clients (docs/http2.md): real clients (curl, nghttp, headless Chromium) and a
frame-level one (python3-h2) against the real binary and real HTTP/1.1 upstreams."""
import http.server
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time

import h2.errors
import hyperframe.frame as frames
import pytest

import headless_chromium
from greenlb_testlib import (Greenlb, Upstream, basic_config, free_port, http_get, rss_kib,
                             wait_until)
from h2_client import H2Client, StreamResetError
from recording_upstream import RecordingUpstream
from tls_certs import CertAuthority

ENHANCE_YOUR_CALM = 11
PROTOCOL_ERROR = 1


def with_log(text, tmp_path):
    log = tmp_path / "access.log"
    return text.replace('path = "off"', f'path = "{log}"'), log


def log_records(log, count, timeout=5):
    def enough():
        if not log.exists():
            return None
        lines = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
        return lines if len(lines) >= count else None
    return wait_until(enough, timeout=timeout, what=f"{count} access log lines")


def curl(*args, timeout=20):
    r = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


# --- plain h2c and TLS h2 with curl ---------------------------------------------------------

def test_h2c_by_prior_knowledge_serves_requests_and_bodies(tmp_path):
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address])
        text, log = with_log(text, tmp_path)
        with Greenlb(text) as lb:
            rc, out, err = curl("--http2-prior-knowledge", "-i", f"http://127.0.0.1:{port}/")
            assert rc == 0, err
            assert out.startswith(b"HTTP/2 200"), out[:100]
            assert b"x-request-id: " in out
            rc, out, _ = curl("--http2-prior-knowledge", "--data-binary", "hello h2",
                              f"http://127.0.0.1:{port}/echo")
            assert out == b"hello h2"
            big = os.urandom(3 << 20)
            (tmp_path / "big").write_bytes(big)
            rc, out, _ = curl("--http2-prior-knowledge", "--data-binary", f"@{tmp_path / 'big'}",
                              f"http://127.0.0.1:{port}/sink")
            assert out == str(len(big)).encode()
            rc, out, _ = curl("--http2-prior-knowledge", f"http://127.0.0.1:{port}/big?bytes=5000000")
            assert len(out) == 5000000
            rc, out, _ = curl("--http2-prior-knowledge",
                              f"http://127.0.0.1:{port}/big?bytes=300000&chunked=1")
            assert len(out) == 300000
            records = log_records(log, 5)
            assert {r["protocol"] for r in records} == {"HTTP/2.0"}
            assert [r["status"] for r in records] == [200] * 5
            # An HTTP/1.1 client of the same listener is served as ever.
            assert http_get(port, "/")[0] == 200
            assert lb.metric("greenlb_http2_streams_active", listener="web") == 0
            # /status (and the status page) shows HTTP/2 connections while they are open.
            with H2Client(port) as client:
                assert client.response(client.request("GET", "/"))[0] == 200
                http2 = lb.status()["http2"]["listeners"]
                assert http2 == [{"name": "web", "connections_active": 1, "streams_active": 0}]
                assert lb.metric("greenlb_http2_connections_active", listener="web") == 1
            wait_until(lambda: lb.status()["http2"]["listeners"][0]["connections_active"] == 0,
                       what="the HTTP/2 connection to close")


def test_h2_by_alpn_on_tls_and_http2_false_turns_it_off(tmp_path):
    ca = CertAuthority(tmp_path)
    cert, key = ca.issue("web", "web.test", dns=["web.test"])
    with Upstream("a") as up:
        tls = f"""
  [listener.tls]
  certificates = [{{ cert = "{cert}", key = "{key}" }}]
"""
        text, port, _ = basic_config([up.address], listener_extra=tls)
        off_port = free_port()
        text += f"""
[[listener]]
name = "h1only"
listen = "127.0.0.1:{off_port}"
upstream = "app"
http2 = false
{tls}"""
        with Greenlb(text) as lb:
            for p, version in ((port, b"HTTP/2 200"), (off_port, b"HTTP/1.1 200")):
                rc, out, err = curl("--http2", "-i", "--cacert", str(ca.cert), "--resolve",
                                    f"web.test:{p}:127.0.0.1", f"https://web.test:{p}/")
                assert rc == 0, err
                assert out.startswith(version), out[:100]
            assert lb.metric("greenlb_tls_handshakes_total", listener="web", result="success") == 1


# --- many streams, balanced per request -----------------------------------------------------

def test_concurrent_streams_on_one_connection_are_balanced_per_request():
    with Upstream("a") as a, Upstream("b") as b, Upstream("c") as c:
        text, port, _ = basic_config([a.address, b.address, c.address], workers=1)
        with Greenlb(text) as lb:
            with H2Client(port) as client:
                sids = [client.request("GET", f"/?i={i}") for i in range(60)]
                bodies = [client.response(sid)[2] for sid in sids]
            assert sorted(set(bodies)) == [b"a\n", b"b\n", b"c\n"]
            # One connection, round robin per request: exactly a third each.
            assert [bodies.count(n) for n in (b"a\n", b"b\n", b"c\n")] == [20, 20, 20]
            # nghttp: 50 at once on one connection.
            r = subprocess.run(["nghttp", "-n", "-s", "-m", "50", f"http://127.0.0.1:{port}/"],
                               capture_output=True, timeout=30)
            assert r.returncode == 0, r.stderr


# --- flow control ---------------------------------------------------------------------------

def test_a_client_that_does_not_read_back_pressures_the_upstream_not_greenlbs_memory():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], workers=1)
        with Greenlb(text) as lb:
            size = 40 << 20
            with H2Client(port) as client:
                client.auto_ack = False  # no WINDOW_UPDATE: the client's 64 KiB window stays shut
                before = rss_kib(lb.pid())
                sid = client.request("GET", f"/big?bytes={size}")
                client.pump(lambda c: False, timeout=2)  # greenlb fills the window, then waits
                got = sum(len(e.data) for e in client.stream_events(sid) if hasattr(e, "data"))
                assert got <= 65535
                grown = rss_kib(lb.pid()) - before
                assert grown < 8 * 1024, grown  # KiB: far below the 40 MiB body
                # Reading resumes the transfer to its end.
                client.auto_ack = True
                for e in client.stream_events(sid):
                    if hasattr(e, "flow_controlled_length"):
                        client.conn.acknowledge_received_data(e.flow_controlled_length, sid)
                client.flush()
                status, _, body, _ = client.response(sid, timeout=60)
                assert status == 200 and len(body) == size


# --- cancellation ---------------------------------------------------------------------------

def test_client_reset_cancels_the_upstream_request():
    cancelled = threading.Event()

    def handler(sock, req, index):
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        sock.settimeout(10)
        try:
            while sock.recv(1):  # greenlb closes the connection when the stream is reset
                pass
        except OSError:
            pass
        cancelled.set()
        return False

    with RecordingUpstream(handler) as up:
        text, port, _ = basic_config([up.address])
        with Greenlb(text) as lb:
            with H2Client(port) as client:
                sid = client.request("GET", "/stream")
                assert client.pump(lambda c: any(hasattr(e, "data") for e in c.stream_events(sid)))
                client.conn.reset_stream(sid, error_code=h2.errors.ErrorCodes.CANCEL)
                client.flush()
                assert cancelled.wait(5), "the upstream request was not cancelled"
                # The connection goes on.
                sid2 = client.request("GET", "/again")
                assert client.pump(lambda c: any(hasattr(e, "headers") for e in c.stream_events(sid2)))


# --- timeouts and early answers -------------------------------------------------------------

def test_an_idle_connection_gets_goaway_after_client_idle():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], listener_extra="""
  [listener.timeouts]
  client_idle = "400ms"
""")
        with Greenlb(text) as lb:
            with H2Client(port) as client:
                assert client.response(client.request("GET", "/"))[0] == 200
                assert client.pump(lambda c: c.goaway is not None, timeout=5)
                assert client.goaway.error_code == 0
                assert client.pump(lambda c: c.closed, timeout=5)


def test_an_answer_before_the_whole_body_resets_the_rest_of_the_upload():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], listener_extra="""
  [listener.limits]
  max_body_bytes = 1000
""")
        with Greenlb(text) as lb:
            with H2Client(port) as client:
                sid = client.request("POST", "/sink", headers=[("content-length", "100000")],
                                     end_stream=False)
                client.conn.send_data(sid, b"x" * 10000)
                client.flush()
                assert client.pump(lambda c: c.stream_ended(sid))
                status = [e for e in client.stream_events(sid) if hasattr(e, "headers")]
                assert dict(status[0].headers)[b":status"] == b"413"
                # The client is told to stop sending (RST_STREAM NO_ERROR, RFC 9113 8.1).
                assert client.pump(lambda c: c.reset_code(sid) is not None)
                assert client.reset_code(sid) == 0
                assert client.response(client.request("GET", "/"))[0] == 200
            assert up.stats()["requests"] == 1


# --- drain ----------------------------------------------------------------------------------

def test_sigterm_sends_goaway_and_lets_streams_in_flight_finish():
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address])
        lb = Greenlb(text)
        try:
            # curl keeps a stream in flight across the GOAWAY (python-h2 closes its side on
            # the first GOAWAY, so it only watches).
            slow = subprocess.Popen(["curl", "-sS", "--http2-prior-knowledge",
                                     f"http://127.0.0.1:{port}/slow?ms=1500"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            with H2Client(port) as watcher:
                assert watcher.response(watcher.request("GET", "/"))[0] == 200
                time.sleep(0.3)
                lb.send_signal(signal.SIGTERM)
                assert watcher.pump(lambda c: c.goaway is not None, timeout=5)
                assert watcher.goaway.error_code == 0
                out, err = slow.communicate(timeout=15)
                assert slow.returncode == 0, err
                assert out == b"a\n"
            assert lb.stop(timeout=20) == 0
        finally:
            if lb.proc.poll() is None:
                lb.stop(sig=signal.SIGKILL)


# --- malformed requests: stream errors, the connection goes on --------------------------------

@pytest.mark.parametrize("headers, body, name", [
    ([(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "x"), ("X-Upper", "1")], b"", "uppercase"),
    ([(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "x"), ("connection", "keep-alive")], b"", "connection-specific"),
    ([(":method", "GET"), (":scheme", "http"), (":authority", "x")], b"", "missing-path"),
    ([(":method", "POST"), (":path", "/sink"), (":scheme", "http"), (":authority", "x"), ("content-length", "10")], b"12345", "content-length-mismatch"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_malformed_request_is_a_stream_error_and_the_connection_goes_on(headers, body, name):
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address])
        with Greenlb(text) as lb:
            with H2Client(port, validate=False) as client:
                sid = client.conn.get_next_available_stream_id()
                client.conn.send_headers(sid, headers, end_stream=not body)
                if body:
                    client.conn.send_data(sid, body, end_stream=True)
                client.flush()
                with pytest.raises(StreamResetError) as e:
                    client.response(sid)
                assert e.value.code == PROTOCOL_ERROR
                good = client.request("GET", "/")
                assert client.response(good)[0] == 200
            assert lb.metric("greenlb_client_errors_total", reason="http2_protocol") >= 1
            assert up.stats()["requests"] == 1  # only the good one reached the upstream


# --- abuse: each ends only its own connection, counted ---------------------------------------

def rapid_reset(client):
    for _ in range(1200):
        sid = client.conn.get_next_available_stream_id()
        client.conn.send_headers(sid, [(":method", "GET"), (":path", "/"), (":scheme", "http"),
                                       (":authority", "x")])
        client.conn.reset_stream(sid, error_code=h2.errors.ErrorCodes.CANCEL)
    client.flush()


def ping_flood(client):
    client.raw(b"".join(frames.PingFrame(0, opaque_data=b"%08d" % i).serialize() for i in range(2000)))


def settings_flood(client):
    client.raw(b"".join(frames.SettingsFrame(0, settings={4: 65535}).serialize() for _ in range(2000)))


def empty_data_flood(client):
    sid = client.request("POST", "/sink", end_stream=False)
    client.raw(b"".join(frames.DataFrame(sid, data=b"").serialize() for _ in range(2000)))


def continuation_flood(client):
    sid = client.conn.get_next_available_stream_id()
    block = client.conn.encoder.encode([(":method", "GET"), (":path", "/"), (":scheme", "http"),
                                        (":authority", "x")])
    head = frames.HeadersFrame(sid, data=block[:3])  # no END_HEADERS
    parts = [head.serialize()]
    for i in range(40):
        parts.append(frames.ContinuationFrame(sid, data=b"\x00").serialize())
    client.raw(b"".join(parts))


def hpack_bomb(client):
    sid = client.conn.get_next_available_stream_id()
    big = "b" * 4000
    # The first reference adds the field to the dynamic table, every later one is a byte or
    # two on the wire and 4 KB decoded: far past max_header_bytes.
    hdrs = [(":method", "GET"), (":path", "/"), (":scheme", "http"), (":authority", "x")]
    hdrs += [("x-bomb", big)] * 200
    block = client.conn.encoder.encode(hdrs)
    client.raw(frames.HeadersFrame(sid, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize())


@pytest.mark.parametrize("attack", [rapid_reset, ping_flood, settings_flood, empty_data_flood,
                                    continuation_flood, hpack_bomb],
                         ids=lambda f: f.__name__)
def test_abuse_ends_only_the_offending_connection(attack):
    with Upstream("a") as up:
        text, port, _ = basic_config([up.address], workers=1)
        with Greenlb(text) as lb:
            bystander = H2Client(port)
            assert bystander.response(bystander.request("GET", "/"))[0] == 200
            with H2Client(port, validate=False) as client:
                attack(client)
                client.pump(lambda c: c.goaway is not None or c.closed, timeout=10)
                assert client.goaway is not None, "no GOAWAY"
                assert client.goaway.error_code == ENHANCE_YOUR_CALM, client.goaway
            assert lb.metric("greenlb_client_errors_total", listener="web", reason="http2_flood") >= 1
            # Others on the hub go on: the connection that was there, and new ones.
            assert bystander.response(bystander.request("GET", "/"))[0] == 200
            bystander.close()
            assert http_get(port, "/")[0] == 200
            # Rapid reset: streams reset in the read that opened them never reached the upstream.
            assert up.stats()["requests"] < 200


# --- a browser ------------------------------------------------------------------------------

def test_chromium_loads_a_page_with_many_assets_over_h2(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    assets = 40
    (site / "index.html").write_text(
        "<html><body>" + "".join(f'<img src="/img{i}.svg" alt="i{i}">' for i in range(assets)) +
        '<script src="/app.js"></script></body></html>')
    for i in range(assets):
        (site / f"img{i}.svg").write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><text>{i}</text></svg>')
    (site / "app.js").write_text("document.body.setAttribute('data-loaded', 'yes');")

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(site), **k)

        def log_message(self, *a):
            pass

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 256  # the browser's 40 parallel requests open as many connections

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ca = CertAuthority(tmp_path)
    cert, key = ca.issue("web", "localhost", dns=["localhost"], ips=["127.0.0.1"])
    try:
        text, port, _ = basic_config([f"127.0.0.1:{server.server_address[1]}"], listener_extra=f"""
  [listener.tls]
  certificates = [{{ cert = "{cert}", key = "{key}" }}]
""")
        text, log = with_log(text, tmp_path)
        with Greenlb(text):
            r = headless_chromium.run("--ignore-certificate-errors", "--virtual-time-budget=5000",
                                      "--dump-dom", f"https://127.0.0.1:{port}/index.html")
            dom = r.stdout.decode(errors="replace")
            assert 'data-loaded="yes"' in dom, (dom[:500], r.stderr[-1000:])
            records = log_records(log, assets + 2, timeout=15)
            assert all(rec["protocol"] == "HTTP/2.0" for rec in records)
            served = {rec["target"] for rec in records if rec["status"] == 200}
            wanted = {"/index.html", "/app.js", *(f"/img{i}.svg" for i in range(assets))}
            assert wanted <= served, (len(records), sorted(wanted - served),
                                      [(r["target"], r["status"], r["error"]) for r in records
                                       if r["status"] != 200])
    finally:
        server.shutdown()
