"""TLS termination and TLS to upstreams, through the real binary: certificates made per run
with the openssl CLI, clients are curl, `openssl s_client` and Python's ssl module, upstreams
are real HTTPS processes (upstream_server.py --tls-cert)."""
import http.client
import json
import os
import socket
import ssl
import subprocess
import time

import pytest

from greenlb_testlib import (Greenlb, ScriptServer, Upstream, basic_config, http_get,
                             tcp_config, wait_until)
from tls_certs import CertAuthority, not_after


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = CertAuthority(d / "ca")
    other = CertAuthority(d / "other", name="unrelated CA")
    certs = {
        "a": ca.issue("a", "a.test", dns=["a.test"]),
        "b": ca.issue("b", "b.test", dns=["b.test", "*.wild.test"]),
        "upstream": ca.issue("upstream", "up.internal", dns=["up.internal"], ips=["127.0.0.1"]),
        "client": ca.issue("client", "greenlb-client", client=True),
        "untrusted": other.issue("untrusted", "up.internal", dns=["up.internal"]),
    }
    return {"ca": ca, "other": other, "certs": certs, "dir": d}


def tls_listener(pki, names=("a", "b"), min_version="1.2"):
    certs = ", ".join(f'{{ cert = "{pki["certs"][n][0]}", key = "{pki["certs"][n][1]}" }}'
                      for n in names)
    return f"""
  [listener.tls]
  certificates = [{certs}]
  min_version = "{min_version}"
  [listener.timeouts]
  client_header = "1s"
"""


def client_context(pki, maximum=None):
    ctx = ssl.create_default_context(cafile=str(pki["ca"].cert))
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def read_whole_response(sock):
    """One response with a Content-Length body, however many TLS records it came in (the
    head and the body are separate records when the upstream sent them apart)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def https_get(port, host, ctx, path="/", keep=None):
    """One request over a fresh TLS connection: (status, headers dict, body, ssl socket info)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname=host)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        info = {"version": s.version(), "cipher": s.cipher()[0],
                "subject": dict(x[0] for x in s.getpeercert()["subject"])}
        return status, headers, body, info
    finally:
        s.close()


def s_client(port, *args, data=b""):
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                       input=data, capture_output=True, timeout=20)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def test_sni_chooses_the_certificate_and_requests_flow(pki):
    with Upstream("app") as up:
        text, port, _ = basic_config([up.address], listener_extra=tls_listener(pki), workers=1)
        with Greenlb(text) as g:
            for host, cn in [("a.test", "a.test"), ("b.test", "b.test"), ("x.wild.test", "b.test"),
                             ("A.TEST", "a.test")]:
                status, headers, body, info = https_get(port, host, client_context(pki), "/headers")
                assert status == 200, host
                assert info["subject"]["commonName"] == cn, host
                seen = {k.lower(): v for k, v in json.loads(body)}
                assert seen["x-forwarded-proto"] == "https"
            # No SNI, or a name no certificate has: the first certificate.
            rc, out = s_client(port, "-noservername", data=b"")
            assert "subject=CN = a.test" in out
            rc, out = s_client(port, "-servername", "nobody.example", data=b"")
            assert "subject=CN = a.test" in out
            # curl verifies the name against the chosen certificate.
            r = subprocess.run(["curl", "-sS", "--cacert", str(pki["ca"].cert), "--resolve",
                                f"x.wild.test:{port}:127.0.0.1", f"https://x.wild.test:{port}/"],
                               capture_output=True, timeout=20)
            assert r.returncode == 0, r.stderr
            assert r.stdout == b"app\n"
            assert g.metric("greenlb_tls_handshakes_total", listener="web", result="success") >= 7
            expiry = g.metric("greenlb_tls_certificate_expiry_timestamp_seconds",
                              listener="web", name="a.test")
            assert expiry == not_after(pki["certs"]["a"][0])


def test_protocol_versions_alpn_and_ciphers(pki):
    with Upstream("app") as up:
        text, port, _ = basic_config([up.address], listener_extra=tls_listener(pki), workers=1)
        with Greenlb(text):
            status, _, _, info = https_get(port, "a.test", client_context(pki))
            assert (status, info["version"]) == (200, "TLSv1.3")
            status, _, _, info = https_get(port, "a.test",
                                           client_context(pki, ssl.TLSVersion.TLSv1_2))
            assert (status, info["version"]) == (200, "TLSv1.2")
            assert "GCM" in info["cipher"] or "CHACHA20" in info["cipher"]
            assert info["cipher"].startswith("ECDHE-")
            # HTTP/2 is on by default: h2 is preferred by ALPN, http/1.1 still offered.
            rc, out = s_client(port, "-alpn", "h2,http/1.1", "-servername", "a.test")
            assert "ALPN protocol: h2" in out
            rc, out = s_client(port, "-alpn", "http/1.1", "-servername", "a.test")
            assert "ALPN protocol: http/1.1" in out
            # A TLS 1.0 client (its own security level lowered so it really offers 1.0).
            rc, out = s_client(port, "-tls1", "-cipher", "DEFAULT@SECLEVEL=0")
            assert rc != 0
            assert "Cipher is (NONE)" in out or "alert protocol version" in out
            # A CBC-only TLS 1.2 client finds no cipher in common.
            rc, out = s_client(port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")
            assert rc != 0


def test_min_version_1_3_refuses_1_2(pki):
    with Upstream("app") as up:
        text, port, _ = basic_config([up.address], workers=1,
                                     listener_extra=tls_listener(pki, min_version="1.3"))
        with Greenlb(text):
            with pytest.raises(ssl.SSLError):
                https_get(port, "a.test", client_context(pki, ssl.TLSVersion.TLSv1_2))
            status, _, _, info = https_get(port, "a.test", client_context(pki))
            assert (status, info["version"]) == (200, "TLSv1.3")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_session_resumption_with_tickets(pki, version):
    # Each connection resumes the session of the one before. TLS 1.3 clients should use a
    # ticket once (RFC 8446 C.4; OpenSSL's and browsers' do), so a resumed 1.3 handshake
    # must issue a new ticket, or every other connection is a full handshake. With 1.3 the
    # tickets arrive after the handshake, before the response is read; the client names
    # a session after its ticket (SHA-256), so a new ticket is a new session id.
    with Upstream("app") as up:
        text, port, _ = basic_config([up.address], listener_extra=tls_listener(pki), workers=2)
        with Greenlb(text):
            ctx = client_context(pki, version)
            session = None
            resumed = 0
            ids = set()
            for _ in range(6):  # spread over both hubs by SO_REUSEPORT
                raw = socket.create_connection(("127.0.0.1", port), timeout=5)
                s = ctx.wrap_socket(raw, server_hostname="a.test", session=session)
                s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
                resumed += s.session_reused
                session = s.session
                ids.add(session.id)
                s.close()
            assert resumed == 5
            if version == ssl.TLSVersion.TLSv1_3:
                assert len(ids) == 6  # a new ticket from every connection, resumed ones too


def test_stalled_handshake_times_out_and_harms_no_one(pki):
    with Upstream("app") as up:
        text, port, _ = basic_config([up.address], listener_extra=tls_listener(pki), workers=1)
        with Greenlb(text) as g:
            stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
            stalled.sendall(b"\x16\x03\x01\x02\x00\x01\x00")  # the start of a ClientHello
            for _ in range(3):
                assert https_get(port, "a.test", client_context(pki))[0] == 200
            t0 = time.monotonic()
            assert stalled.recv(100) == b""  # closed at client_header (1s)
            assert time.monotonic() - t0 < 8
            wait_until(lambda: g.metric("greenlb_tls_handshakes_total", listener="web",
                                        result="failure") == 1, what="failed handshake counted")
            # Plain HTTP to a TLS port is a failed handshake too, not a crash.
            with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
                plain.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
                try:
                    answer = plain.recv(100)
                except ConnectionResetError:
                    answer = b""
                assert answer[:1] in (b"", b"\x15")  # nothing, or a TLS alert
            assert https_get(port, "a.test", client_context(pki))[0] == 200


def upstream_tls_config(pki, ca=None, client=False, sni="up.internal"):
    lines = ["  [upstream.tls]", f'  ca = "{ca or pki["ca"].cert}"']
    if sni:
        lines.append(f'  sni = "{sni}"')
    if client:
        cert, key = pki["certs"]["client"]
        lines += [f'  cert = "{cert}"', f'  key = "{key}"']
    return "\n".join(lines) + "\n  [upstream.retry]\n  attempts = 0\n"


def tls_upstream(pki, name="secure", cert="upstream", client_ca=False):
    cert_path, key_path = pki["certs"][cert]
    args = ["--tls-cert", str(cert_path), "--tls-key", str(key_path)]
    if client_ca:
        args += ["--tls-client-ca", str(pki["ca"].cert)]
    return Upstream(name, args=args)


def test_upstream_tls_verified_pooled_and_refused_when_untrusted(pki):
    with tls_upstream(pki) as up:
        text, port, _ = basic_config([up.address], workers=1,
                                     upstream_extra=upstream_tls_config(pki))
        with Greenlb(text):
            before = up.stats()["connections"]
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for _ in range(10):
                conn.request("GET", "/")
                r = conn.getresponse()
                assert (r.status, r.read()) == (200, b"secure\n")
            conn.close()
            # One pooled TLS connection served all ten (stats questions are not counted).
            assert up.stats()["connections"] - before == 1
        # The IP is in the certificate too: no sni, verified by address.
        text, port, _ = basic_config([up.address], workers=1,
                                     upstream_extra=upstream_tls_config(pki, sni=""))
        with Greenlb(text):
            assert http_get(port, "/")[0] == 200
        # A CA that did not sign the upstream's certificate: 502, never the response.
        text, port, _ = basic_config([up.address], workers=1,
                                     upstream_extra=upstream_tls_config(pki, ca=pki["other"].cert))
        with Greenlb(text) as g:
            status = http_get(port, "/")[0]
            assert status == 502
            assert g.metric("greenlb_upstream_connect_failures_total", upstream="app",
                            endpoint=up.address) == 1
            # The operator is told why, once (rate-limited: a bad CA fails every request).
            wait_until(lambda: "certificate verify failed" in g.log(), what="the reason logged")
            assert http_get(port, "/")[0] == 502
            log = g.log()
            assert log.count(f"upstream 'app': TLS handshake with {up.address} failed") == 1, log
            assert "(certificate: unable to get local issuer certificate)" in log, log
        # The right CA but the wrong name.
        text, port, _ = basic_config([up.address], workers=1,
                                     upstream_extra=upstream_tls_config(pki, sni="other.name"))
        with Greenlb(text) as g:
            assert http_get(port, "/")[0] == 502
            wait_until(lambda: "(certificate: hostname mismatch)" in g.log(),
                       what="the name mismatch logged")


def test_mutual_tls_to_the_upstream(pki):
    with tls_upstream(pki, client_ca=True) as up:
        text, port, _ = basic_config([up.address], workers=1,
                                     upstream_extra=upstream_tls_config(pki, client=True))
        with Greenlb(text):
            status, headers, body = http_get(port, "/")
            assert status == 200
            assert headers.get("x-client-cn") == "greenlb-client"
        text, port, _ = basic_config([up.address], workers=1,
                                     upstream_extra=upstream_tls_config(pki, client=False))
        with Greenlb(text):
            assert http_get(port, "/")[0] == 502


def test_health_checks_of_a_tls_upstream_speak_tls(pki):
    health = '\n  [upstream.health]\n  path = "/healthz"\n  interval = "200ms"\n  timeout = "1s"\n  rise = 1\n  fall = 1\n'
    with tls_upstream(pki, name="good") as good, tls_upstream(pki, name="bad", cert="untrusted") as bad:
        text, port, _ = basic_config([good.address, bad.address], workers=2,
                                     upstream_extra=upstream_tls_config(pki) + health)
        with Greenlb(text) as g:
            def healthy():
                eps = g.status()["upstreams"][0]["endpoints"]
                return {e["address"]: e["healthy"] for e in eps}
            # The untrusted certificate fails its checks; the good one passes them.
            wait_until(lambda: healthy() == {good.address: True, bad.address: False},
                       what="the untrusted endpoint marked down")
            assert "TLS handshake failed" in g.log()
            for _ in range(6):
                assert http_get(port, "/")[2] == b"good\n"
            good.set_health(False)  # /healthz over TLS now answers 503
            wait_until(lambda: not healthy()[good.address], what="503 seen over TLS")
            good.set_health(True)
            wait_until(lambda: healthy()[good.address], what="back up")


def test_certificate_reload_keeps_connections_and_survives_a_bad_file(pki, tmp_path):
    cert = tmp_path / "web.crt"
    key = tmp_path / "web.key"
    first = pki["ca"].issue("reload1", "first.test", dns=["a.test"])
    second = pki["ca"].issue("reload2", "second.test", dns=["a.test"])
    cert.write_bytes(first[0].read_bytes())
    key.write_bytes(first[1].read_bytes())
    extra = f"""
  [listener.tls]
  certificates = [{{ cert = "{cert}", key = "{key}" }}]
"""
    with Upstream("app") as up:
        text, port, _ = basic_config([up.address], listener_extra=extra, workers=1)
        with Greenlb(text) as g:
            ctx = client_context(pki)
            assert https_get(port, "a.test", ctx)[3]["subject"]["commonName"] == "first.test"
            # A keep-alive TLS connection opened before the reload.
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            kept = ctx.wrap_socket(raw, server_hostname="a.test")
            kept.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            assert read_whole_response(kept).startswith(b"HTTP/1.1 200 ")

            cert.write_bytes(second[0].read_bytes())
            key.write_bytes(second[1].read_bytes())
            g.reload(text)
            assert https_get(port, "a.test", ctx)[3]["subject"]["commonName"] == "second.test"
            kept.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            assert read_whole_response(kept).startswith(b"HTTP/1.1 200 ")

            # A broken certificate file: the reload fails, the running certificate stays.
            cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n")
            before = g.metric("greenlb_config_reloads_total", result="failure") or 0
            g.reload(text, expect_success=False)
            assert g.metric("greenlb_config_reloads_total", result="failure") == before + 1
            assert https_get(port, "a.test", ctx)[3]["subject"]["commonName"] == "second.test"
            assert "certificate" in g.log()
            kept.close()


def test_tcp_listener_terminates_tls(pki):
    with ScriptServer("tcp_echo.py") as echo:
        text, port = tcp_config(echo, listener_extra=tls_listener(pki))
        with Greenlb(text):
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            s = client_context(pki).wrap_socket(raw, server_hostname="a.test")
            s.sendall(b"hello over tls\n")
            got = b""
            while len(got) < 15:
                got += s.recv(100)
            assert got == b"hello over tls\n"
            s.close()


def test_check_reports_a_key_that_does_not_match(pki, tmp_path):
    cert = pki["certs"]["a"][0]
    wrong_key = pki["certs"]["b"][1]
    text, _, _ = basic_config(["127.0.0.1:1"])
    conf = tmp_path / "bad.toml"
    conf.write_text(text.replace('upstream = "app"\n', f'''upstream = "app"
  [listener.tls]
  certificates = [{{ cert = "{cert}", key = "{wrong_key}" }}]
''', 1))
    r = subprocess.run([os.environ["GREENLB_BIN"], "--check", "-c", str(conf)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "does not match" in r.stderr and str(wrong_key) in r.stderr
