"""Sticky sessions ([upstream.sticky], docs/balancing.md "Sticky sessions"): a real cookie
jar (curl -b/-c) over 3 endpoints keeps going to one endpoint while it is up, moves when it
goes down and gets a new cookie, and the cookie works across hubs, HTTP/2 and reloads."""
import http.cookiejar
import re
import subprocess

from greenlb_testlib import Greenlb, Upstream, basic_config, http_get, wait_until
from tls_certs import CertAuthority

STICKY = """
  [upstream.sticky]
  cookie = "GLB"
  max_age = "1h"
  [upstream.health]
  path = "/healthz"
  interval = "100ms"
  timeout = "500ms"
  rise = 1
  fall = 1
"""


def curl(port, jar, *extra):
    """One request with curl's cookie jar: (served by, Set-Cookie header or None)."""
    out = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "-b", str(jar), "-c", str(jar),
                          *extra, f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    served = re.search(r"(?im)^x-upstream: (\S+)", out).group(1)
    cookie = re.search(r"(?im)^set-cookie: (.*?)\r?$", out)
    return served, cookie.group(1) if cookie else None


def cookie_value(jar):
    cj = http.cookiejar.MozillaCookieJar(str(jar))
    cj.load(ignore_discard=True, ignore_expires=True)
    return {c.name: c.value for c in cj}["GLB"]


def up_gauge(lb, endpoint):
    return lb.metric("greenlb_upstream_endpoint_up", upstream="app", endpoint=endpoint.address)


def test_a_cookie_jar_sticks_to_one_endpoint_moves_when_it_goes_down_and_stays_moved(tmp_path):
    with Upstream("a") as a, Upstream("b") as b, Upstream("c") as c:
        ups = {"a": a, "b": b, "c": c}
        text, port, _ = basic_config([a.address, b.address, c.address], workers=2,
                                     upstream_extra=STICKY)
        with Greenlb(text) as lb:
            jar = tmp_path / "jar.txt"
            first, set_cookie = curl(port, jar)
            assert set_cookie is not None
            assert re.fullmatch(r"GLB=[0-9a-f]{16}; Path=/; HttpOnly; Max-Age=3600", set_cookie), \
                set_cookie
            for up in ups.values():  # opaque: never the address
                assert str(up.port) not in set_cookie
            # Round robin alone would spread these over all three (and over both hubs).
            for _ in range(20):
                assert curl(port, jar) == (first, None)
            # Another client without the cookie is balanced as usual.
            assert {http_get(port, "/")[1]["x-upstream"] for _ in range(9)} == {"a", "b", "c"}

            ups[first].set_health(False)
            wait_until(lambda: up_gauge(lb, ups[first]) == 0, what="endpoint down")
            moved, set_cookie = curl(port, jar)
            assert moved != first and set_cookie is not None
            for _ in range(10):
                assert curl(port, jar) == (moved, None)

            # The first endpoint comes back: the client stays where its cookie now points.
            ups[first].set_health(True)
            wait_until(lambda: up_gauge(lb, ups[first]) == 1, what="endpoint back up")
            for _ in range(10):
                assert curl(port, jar) == (moved, None)

            # The same cookie over HTTP/2 (h2c), and after a reload that keeps the endpoint.
            assert curl(port, jar, "--http2-prior-knowledge") == (moved, None)
            lb.reload(text.replace('graceful_timeout = "5s"', 'graceful_timeout = "6s"'))
            assert curl(port, jar) == (moved, None)
            # A reload that changes the upstream (a new health interval) keeps the ids too:
            # they name endpoints by address.
            lb.reload(text.replace('interval = "100ms"', 'interval = "200ms"'))
            assert curl(port, jar) == (moved, None)


def test_a_foreign_cookie_value_is_replaced(tmp_path):
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], upstream_extra=STICKY)
        with Greenlb(text):
            status, headers, _ = http_get(port, "/", headers={"Cookie": "x=1; GLB=nonsense"})
            assert status == 200
            assert headers["set-cookie"].startswith("GLB=")
            value = headers["set-cookie"].split(";")[0].split("=")[1]
            status, headers, _ = http_get(port, "/", headers={"Cookie": f"GLB={value}"})
            assert "set-cookie" not in headers


def test_secure_when_the_client_came_over_tls(tmp_path):
    ca = CertAuthority(tmp_path / "ca")
    cert, key = ca.issue("localhost", "localhost", dns=["localhost"])
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address], upstream_extra=STICKY, listener_extra=f"""
  [listener.tls]
  certificates = [{{ cert = "{cert}", key = "{key}" }}]
""")
        with Greenlb(text):
            out = subprocess.run(["curl", "-s", "-D", "-", "-o", "/dev/null", "--cacert", str(ca.cert),
                                  f"https://localhost:{port}/", "--resolve",
                                  f"localhost:{port}:127.0.0.1"],
                                 capture_output=True, text=True, timeout=10, check=True).stdout
            cookie = re.search(r"(?im)^set-cookie: (.*?)\r?$", out).group(1)
            assert cookie.endswith("; Path=/; HttpOnly; Secure; Max-Age=3600"), cookie
