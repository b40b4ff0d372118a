"""Hot reload on SIGHUP and POST /reload (issue 7, docs/operations.md#reload): no dropped
connection, routes switch, listeners move, invalid files change nothing, upstream state
survives."""
import os
import re
import signal
import socket
import threading
import time

from greenlb_testlib import (Greenlb, LoadRun, RawHttpConnection, Upstream, free_port,
                             http_get, port_open, wait_until)

RELOADS = 20


def two_upstream_config(route_to, a, b, port, admin_port, extra_listeners="",
                        allow_reload=True, workers=2, upstream_extra=""):
    """Listener "web" sends /r/ to `route_to` and everything else to "a"."""
    return f"""
[global]
workers = {workers}
graceful_timeout = "5s"

[admin]
listen = "127.0.0.1:{admin_port}"
allow_reload = {str(allow_reload).lower()}

[access_log]
path = "off"

[[listener]]
name = "web"
listen = "127.0.0.1:{port}"
upstream = "a"
  [[listener.route]]
  path_prefix = "/r/"
  upstream = "{route_to}"
{extra_listeners}
[[upstream]]
name = "a"
endpoints = ["{a.address}"]
{upstream_extra}
[[upstream]]
name = "b"
endpoints = ["{b.address}"]
"""


def test_route_moves_across_20_reloads_under_load_without_a_failure():
    with Upstream("a") as a, Upstream("b") as b:
        port, admin = free_port(), free_port()
        configs = {name: two_upstream_config(name, a, b, port, admin) for name in ("a", "b")}
        with Greenlb(configs["a"]) as lb:
            # A connection kept alive across every reload: its next request must use the
            # configuration in force (docs/operations.md#reload), not the one it was opened
            # under.
            kept = RawHttpConnection(port)
            assert kept.request("/r/kept")[2] == b"a\n"
            load = LoadRun(port, path="/r/load", threads=8, per_connection=25).start()
            try:
                time.sleep(0.3)
                for i in range(RELOADS):
                    target = "b" if i % 2 == 0 else "a"
                    lb.reload(configs[target])
                    # After the reload every new request goes to the other upstream.
                    assert http_get(port, "/r/probe")[2] == target.encode() + b"\n"
                    assert kept.request("/r/kept")[2] == target.encode() + b"\n"
                    time.sleep(0.05)
                time.sleep(0.2)
            finally:
                load.stop()
            summary = load.summary()
            print(f"requests during {RELOADS} reloads: {summary}")
            assert summary["ok"] > 500, summary
            assert summary["ok"] == len(load.results), (summary, load.problems())
            bodies = {d for _, _, o, d in load.results if o == "ok"}
            assert bodies == {b"a\n", b"b\n"}
            assert lb.reloads() == {"success": RELOADS, "failure": 0}
            assert lb.status()["generation"] == RELOADS + 1
            assert lb.stop() == 0


def test_a_sighup_during_a_reload_is_not_lost():
    # An upstream of 3000 endpoints (never routed to) whose weight changes at every write:
    # each reload rebuilds it, which keeps a reload running for tens of milliseconds.
    def big(weight):
        endpoints = ", ".join(f'{{ address = "127.0.{i // 250}.{i % 250 + 1}:9", '
                              f'weight = {weight} }}' for i in range(3000))
        return f'\n[[upstream]]\nname = "big"\nendpoints = [{endpoints}]\n'

    with Upstream("a") as a, Upstream("b") as b:
        port, admin = free_port(), free_port()
        configs = {name: two_upstream_config(name, a, b, port, admin).replace(
            "allow_reload = true", "allow_reload = true\nper_endpoint_metrics = false")
            for name in ("a", "b")}  # scrapes stay small
        with Greenlb(configs["a"] + big(1)) as lb:
            def replace(text):  # atomically, as editors and config tools do
                tmp = lb.path.with_suffix(".new")
                tmp.write_text(text)
                os.replace(tmp, lb.path)

            for i in range(6):
                replace(configs["b"] + big(2))
                lb.send_signal(signal.SIGHUP)
                time.sleep(0.01)  # that reload has read the file and is building
                # Rewritten, signalled again while that reload runs: applied after it.
                replace(configs["a"] + big(3))
                lb.send_signal(signal.SIGHUP)
                wait_until(lambda: http_get(port, "/r/x")[2] == b"a\n" and
                           lb.reloads()["success"] >= 2 * (i + 1), timeout=10,
                           what="the last file in force")
                assert lb.reloads() == {"success": 2 * (i + 1), "failure": 0}
            assert lb.stop() == 0


def test_listener_moved_to_a_new_port():
    with Upstream("a") as a, Upstream("b") as b:
        old_port, new_port, admin = free_port(), free_port(), free_port()
        with Greenlb(two_upstream_config("a", a, b, old_port, admin)) as lb:
            # In flight on the old port when the reload lands, and an idle kept-alive one.
            slow = {}

            def slow_request():
                conn = RawHttpConnection(old_port)
                slow["response"] = conn.request("/slow?ms=1500")
                slow["closed"] = not conn.open

            idle = RawHttpConnection(old_port)
            assert idle.request("/")[0] == 200
            t = threading.Thread(target=slow_request)
            t.start()
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_in_flight") >= 1,
                       timeout=5, what="the slow request in flight")
            lb.reload(two_upstream_config("a", a, b, new_port, admin))
            # The new port serves at once; the old one accepts nothing more.
            assert http_get(new_port, "/")[0] == 200
            assert not port_open(old_port)
            # The request in flight finishes, told to close its connection.
            t.join(timeout=10)
            status, headers, body = slow["response"]
            assert status == 200 and body == b"a\n"
            assert headers.get("connection") == "close" and slow["closed"]
            # The idle kept-alive connection of the removed socket was closed.
            idle.sock.settimeout(5)
            assert idle.sock.recv(1) == b""
            assert [li["listen"] for li in lb.status()["listeners"]] == [f"127.0.0.1:{new_port}"]
            assert lb.stop() == 0


def invalid_config(valid):
    """`valid` with a bad duration: returns (text, line, column) of the error."""
    lines = valid.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("graceful_timeout"))
    lines[i] = 'graceful_timeout = "5 parsecs"'
    return "\n".join(lines) + "\n", i + 1, lines[i].index('"') + 1


def test_invalid_reload_keeps_the_old_config_and_says_where():
    with Upstream("a") as a, Upstream("b") as b:
        port, admin = free_port(), free_port()
        valid = two_upstream_config("a", a, b, port, admin)
        with Greenlb(valid) as lb:
            bad, line, col = invalid_config(two_upstream_config("b", a, b, port, admin))
            lb.reload(bad, expect_success=False)
            assert lb.reloads() == {"success": 0, "failure": 1}
            assert re.search(rf"greenlb\.toml:{line}:{col}: error: ", lb.log()), lb.log()
            # Still the old config: /r/ goes to a, on the same generation.
            for _ in range(10):
                assert http_get(port, "/r/x")[2] == b"a\n"
            assert lb.status()["generation"] == 1
            assert lb.ready()
            # A file that parses but cannot be applied (its port is taken) fails the same way.
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen()
                busy = taken.getsockname()[1]
                lb.reload(two_upstream_config("b", a, b, port, admin, extra_listeners=f"""
[[listener]]
name = "extra"
listen = "127.0.0.1:{busy}"
upstream = "b"
"""), expect_success=False)
            assert lb.reloads() == {"success": 0, "failure": 2}
            assert http_get(port, "/r/x")[2] == b"a\n"
            assert lb.stop() == 0


def test_post_reload():
    with Upstream("a") as a, Upstream("b") as b:
        port, admin = free_port(), free_port()
        with Greenlb(two_upstream_config("a", a, b, port, admin)) as lb:
            assert lb.admin_get("/reload")[0] == 405
            lb.path.write_text(two_upstream_config("b", a, b, port, admin))
            status, _, body = http_get(admin, "/reload", method="POST")
            assert status == 200 and b"generation 2" in body
            assert http_get(port, "/r/x")[2] == b"b\n"
            # Invalid: non-2xx, with every error as FILE:LINE:COL in the body.
            bad, line, col = invalid_config(two_upstream_config("a", a, b, port, admin))
            lb.path.write_text(bad)
            status, _, body = http_get(admin, "/reload", method="POST")
            assert status >= 400
            assert re.search(rf"greenlb\.toml:{line}:{col}: error: ".encode(), body), body
            assert http_get(port, "/r/x")[2] == b"b\n"
            assert lb.reloads() == {"success": 1, "failure": 1}
            # A reload that turns allow_reload off: POST /reload is refused from then on.
            lb.path.write_text(two_upstream_config("a", a, b, port, admin, allow_reload=False))
            assert http_get(admin, "/reload", method="POST")[0] == 200
            lb.path.write_text(two_upstream_config("b", a, b, port, admin))
            status, _, body = http_get(admin, "/reload", method="POST")
            assert status == 403 and b"allow_reload" in body
            assert http_get(port, "/r/x")[2] == b"a\n"
            # SIGHUP still works.
            lb.reload(two_upstream_config("b", a, b, port, admin))
            assert http_get(port, "/r/x")[2] == b"b\n"
            assert lb.stop() == 0


def endpoint_status(lb, upstream, address):
    for up in lb.status()["upstreams"]:
        if up["name"] == upstream:
            for ep in up["endpoints"]:
                if ep["address"] == address:
                    return ep
    raise KeyError(address)


def test_ejected_endpoint_and_pooled_connections_survive_an_unrelated_reload():
    dead = f"127.0.0.1:{free_port()}"  # refuses connections
    with Upstream("alive") as alive, Upstream("b") as b:
        port, admin = free_port(), free_port()
        outlier = f"""
  [upstream.outlier]
  consecutive_failures = 2
  ejection = "30s"
"""

        def config(extra_listeners=""):
            text = two_upstream_config("a", alive, b, port, admin, workers=1,
                                       extra_listeners=extra_listeners, upstream_extra=outlier)
            return text.replace(f'endpoints = ["{alive.address}"]',
                                f'endpoints = ["{dead}", "{alive.address}"]')

        with Greenlb(config()) as lb:
            ejections = lambda: lb.metric("greenlb_upstream_ejections_total", upstream="a",
                                          endpoint=dead)
            for _ in range(20):
                assert http_get(port, "/")[2] == b"alive\n"
                if ejections() >= 1:
                    break
            assert ejections() == 1
            until = endpoint_status(lb, "a", dead)["ejected_until"]
            assert until is not None
            failures = lb.metric("greenlb_upstream_connect_failures_total", endpoint=dead)
            for _ in range(10):
                assert http_get(port, "/")[2] == b"alive\n"
            connections = alive.stats()["connections"]

            extra = f"""
[[listener]]
name = "extra"
listen = "127.0.0.1:{free_port()}"
upstream = "b"
"""
            lb.reload(config(extra))
            assert http_get(lb.port("extra"), "/")[2] == b"b\n"
            # Still ejected, with the same deadline; no request tried it again. (/status turns
            # the monotonic deadline into wall-clock time at each call: equal to the microsecond.)
            assert abs(endpoint_status(lb, "a", dead)["ejected_until"] - until) < 1e-3
            for _ in range(10):
                assert http_get(port, "/")[2] == b"alive\n"
            assert ejections() == 1
            assert lb.metric("greenlb_upstream_connect_failures_total", endpoint=dead) == failures
            # The pooled upstream connection was reused: no new one was opened.
            assert alive.stats()["connections"] == connections
            assert lb.stop() == 0


def test_sigusr1_reopens_the_access_log():
    with Upstream("a") as a, Upstream("b") as b:
        port, admin = free_port(), free_port()
        text = two_upstream_config("a", a, b, port, admin).replace(
            'path = "off"', 'path = "access.log"')
        with Greenlb(text) as lb:
            log = lb.path.parent / "access.log"
            rotated = lb.path.parent / "access.log.1"
            assert http_get(port, "/before-rotation")[0] == 200
            wait_until(lambda: log.exists() and "/before-rotation" in log.read_text(),
                       timeout=5, what="the first access-log line")
            log.rename(rotated)
            lb.send_signal(signal.SIGUSR1)
            # The writer reopens the path: new lines land in a new file there.
            n = 0
            deadline = time.monotonic() + 10
            while not log.exists() or not log.read_text():
                assert time.monotonic() < deadline, "no new access.log after SIGUSR1"
                n += 1
                assert http_get(port, f"/probe-{n}")[0] == 200
                time.sleep(0.1)
            assert http_get(port, "/after-rotation")[0] == 200
            wait_until(lambda: "/after-rotation" in log.read_text(), timeout=5,
                       what="a line in the reopened access.log")
            assert "/after-rotation" not in rotated.read_text()
            assert "/before-rotation" in rotated.read_text()
            assert "/before-rotation" not in log.read_text()
            assert lb.stop() == 0


def test_health_state_survives_an_unrelated_reload_and_not_a_changed_upstream():
    with Upstream("a") as a, Upstream("b") as b:
        port, admin = free_port(), free_port()
        # One check at start, then none for a minute: the state after it can only come
        # from that first check (or from a fresh endpoint, which starts healthy).
        health = """
  [upstream.health]
  path = "/healthz"
  interval = "1m"
  timeout = "1s"
  fall = 1
  rise = 1
"""

        def config(extra_listeners="", upstream_extra=""):
            return two_upstream_config("a", a, b, port, admin, extra_listeners=extra_listeners,
                                       upstream_extra=health + upstream_extra)

        a.set_health(False)
        with Greenlb(config()) as lb:
            up = lambda: lb.metric("greenlb_upstream_endpoint_up", upstream="a")
            checks = lambda: lb.metric("greenlb_upstream_health_checks_total", upstream="a")
            wait_until(lambda: up() == 0 and checks() == 1, what="a checked down")
            a.set_health(True)  # the next check would pass: none comes for a minute
            lb.reload(config(extra_listeners=f"""
[[listener]]
name = "extra"
listen = "127.0.0.1:{free_port()}"
upstream = "b"
"""))
            assert http_get(lb.port("extra"), "/")[2] == b"b\n"
            # Same upstream object: still down, no new check ran.
            assert endpoint_status(lb, "a", a.address)["healthy"] is False
            assert up() == 0 and checks() == 1
            # A changed definition rebuilds the upstream: fresh state, a new first check.
            lb.reload(config(upstream_extra='  [upstream.retry]\n  backoff = "1ms"\n'))
            wait_until(lambda: checks() == 2, what="the rebuilt upstream's first check")
            assert endpoint_status(lb, "a", a.address)["healthy"] is True
            assert up() == 1
            assert lb.stop() == 0
