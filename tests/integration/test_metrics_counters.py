"""Exact metric values after known traffic (issue 6, docs/observability.md): two listeners,
two upstreams, two hubs; client errors of every reason; counters across reloads;
per_endpoint_metrics; series of an endpoint removed by a reload leaving the exposition."""
import collections
import socket
import struct
import threading
import time

from greenlb_testlib import (Greenlb, Upstream, free_port, http_get, raw_exchange,
                             wait_until)

# Families that carry the endpoint label ([admin] per_endpoint_metrics).
ENDPOINT_FAMILIES = {
    "greenlb_upstream_requests_total", "greenlb_upstream_endpoint_up",
    "greenlb_upstream_endpoint_in_flight", "greenlb_upstream_connect_failures_total",
    "greenlb_upstream_ejections_total", "greenlb_upstream_health_checks_total",
}


def samples(m, name):
    """{frozenset(labels): value} of one sample name in a parse_metrics() dict."""
    return {labels: v for (n, labels), v in m.items() if n == name}


def labelled(**labels):
    return frozenset(labels.items())


def family_names(text):
    """Names of the families the exposition declares (# TYPE lines)."""
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def counters_only(m):
    """The samples that only ever grow: counters and histogram series of greenlb_*, minus
    the reload count itself and the hub loop-lag probe (which ticks on its own)."""
    keep = {}
    for (name, labels), v in m.items():
        if not name.startswith("greenlb_") or name.startswith("greenlb_hub_loop_lag"):
            continue
        if name == "greenlb_config_reloads_total":
            continue
        if name.endswith(("_total", "_count", "_sum", "_bucket")):
            keep[(name, labels)] = v
    return keep


def config(web_port, edge_port, admin_port, app, api, per_endpoint=True, app_extra=""):
    endpoints = ", ".join(f'"{a}"' for a in app)
    return f"""
[global]
workers = 2
graceful_timeout = "5s"

[admin]
listen = "127.0.0.1:{admin_port}"
per_endpoint_metrics = {"true" if per_endpoint else "false"}

[access_log]
path = "off"

[[listener]]
name = "web"
listen = "127.0.0.1:{web_port}"
upstream = "app"
  [listener.timeouts]
  client_header = "300ms"
  [listener.limits]
  max_header_bytes = "4KiB"
  [[listener.route]]
  path_prefix = "/api/"
  upstream = "api"

[[listener]]
name = "edge"
listen = "127.0.0.1:{edge_port}"
  [[listener.route]]
  path_prefix = "/v1/"
  upstream = "api"

[[upstream]]
name = "app"
endpoints = [{endpoints}]
{app_extra}
  [upstream.retry]
  backoff = "0s"
  [upstream.outlier]
  consecutive_failures = 0

[[upstream]]
name = "api"
endpoints = ["{api}"]
"""


def upstream_codes(up):
    """{code: n} of the responses an upstream_server.py process gave to real traffic."""
    codes = collections.Counter()
    for _method, target, _headers, _body in up.requests():
        codes[int(target[8:]) if target.startswith("/status/") else 200] += 1
    return codes


def reset_mid_body(port, lb):
    """A POST whose client sends part of the body, then resets the connection (RST)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 20000)
    # Reset only once the body is being streamed upstream, so the proxy sees it mid-body.
    wait_until(lambda: lb.metric("greenlb_upstream_endpoint_in_flight", upstream="app") == 1,
               what="the POST in flight")
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_exact_counters_after_known_traffic_and_across_reloads():
    with Upstream("a") as a, Upstream("b") as b, Upstream("c") as c:
        web, edge, admin = free_port(), free_port(), free_port()
        text = config(web, edge, admin, [a.address, b.address], c.address)
        with Greenlb(text) as lb:
            # The initial load is not a reload.
            assert lb.reloads() == {"success": 0, "failure": 0}
            first_load = lb.metric("greenlb_config_last_reload_success_timestamp_seconds")
            assert first_load > 1e9

            plan = [(web, "/status/200", 200, 12), (web, "/status/404", 404, 4),
                    (web, "/status/500", 500, 3), (web, "/status/503", 503, 2),
                    (web, "/api/x", 200, 5), (edge, "/v1/x", 200, 6), (edge, "/nope", 404, 2)]
            for port, path, status, n in plan:
                for _ in range(n):
                    assert http_get(port, path)[0] == status, path
            web_connections, edge_connections = 26, 8

            lb.wait_requests_finished(sum(n for *_, n in plan))
            m = lb.metrics()
            assert samples(m, "greenlb_requests_total") == {
                labelled(listener="web", upstream="app", code="200"): 12,
                labelled(listener="web", upstream="app", code="404"): 4,
                labelled(listener="web", upstream="app", code="500"): 3,
                labelled(listener="web", upstream="app", code="503"): 2,
                labelled(listener="web", upstream="api", code="200"): 5,
                labelled(listener="edge", upstream="api", code="200"): 6,
                labelled(listener="edge", upstream="", code="404"): 2,  # no route: proxy-made
            }
            # Histograms count every answered request, exactly.
            assert samples(m, "greenlb_request_duration_seconds_count") == {
                labelled(listener="web", upstream="app"): 21,
                labelled(listener="web", upstream="api"): 5,
                labelled(listener="edge", upstream="api"): 6,
                labelled(listener="edge", upstream=""): 2,
            }
            # Each 503 was tried three times (attempts = 2), on both endpoints.
            assert lb.metric("greenlb_upstream_retries_total", upstream="app") == 4
            assert lb.metric("greenlb_upstream_retries_total", upstream="api") == 0

            # Per endpoint: exactly what each upstream process says it answered.
            expected = {}
            for name, ep in (("app", a), ("app", b), ("api", c)):
                for code, n in upstream_codes(ep).items():
                    expected[labelled(upstream=name, endpoint=ep.address, code=str(code))] = n
            assert samples(m, "greenlb_upstream_requests_total") == expected
            app_codes = upstream_codes(a) + upstream_codes(b)
            assert app_codes == {200: 12, 404: 4, 500: 3, 503: 6}
            assert upstream_codes(a) and upstream_codes(b)  # round robin used both
            assert upstream_codes(c) == {200: 11}
            assert samples(m, "greenlb_upstream_first_byte_duration_seconds_count") == {
                labelled(upstream="app"): 25, labelled(upstream="api"): 11}
            # A connection is timed once, when it is opened: the upstreams count the accepts.
            assert samples(m, "greenlb_upstream_connect_duration_seconds_count") == {
                labelled(upstream="app"): a.stats()["connections"] + b.stats()["connections"],
                labelled(upstream="api"): c.stats()["connections"]}

            for ep, name in ((a, "app"), (b, "app"), (c, "api")):
                by = labelled(upstream=name, endpoint=ep.address)
                assert samples(m, "greenlb_upstream_endpoint_up")[by] == 1
                assert samples(m, "greenlb_upstream_endpoint_in_flight")[by] == 0
                assert samples(m, "greenlb_upstream_connect_failures_total")[by] == 0
                assert samples(m, "greenlb_upstream_ejections_total")[by] == 0
            assert set(samples(m, "greenlb_upstream_timeouts_total").values()) == {0}
            assert set(samples(m, "greenlb_upstream_unavailable_total").values()) == {0}
            assert samples(m, "greenlb_upstream_panic") == {
                labelled(upstream="app"): 0, labelled(upstream="api"): 0}

            assert samples(m, "greenlb_connections_accepted_total") == {
                labelled(listener="web"): web_connections,
                labelled(listener="edge"): edge_connections}
            for listener in ("web", "edge"):
                assert m[("greenlb_bytes_received_total", labelled(listener=listener))] > 0
                assert m[("greenlb_bytes_sent_total", labelled(listener=listener))] > 0
            assert set(samples(m, "greenlb_client_errors_total").values()) == {0}

            # One series per hub; each hub runs at least its housekeeping fiber.
            fibers = samples(m, "greenlb_hub_fibers")
            assert set(fibers) == {labelled(hub="0"), labelled(hub="1")}
            assert all(v >= 1 for v in fibers.values())
            lag = samples(m, "greenlb_hub_loop_lag_seconds_count")
            assert set(lag) == {labelled(hub="0"), labelled(hub="1")}
            build = samples(m, "greenlb_build_info")
            assert len(build) == 1 and list(build.values()) == [1]
            assert dict(next(iter(build)))["version"] == lb.status()["version"]
            for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                         "process_open_fds", "process_max_fds", "process_start_time_seconds"):
                assert m[(name, frozenset())] > 0, name
            assert m[("process_start_time_seconds", frozenset())] <= time.time()

            # Client errors, one of each reason, on the web listener.
            reply = raw_exchange(web, b"GET / HTTP/1.1\r\nHost : x\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 400"), reply[:100]
            reply = raw_exchange(web, b"GET / HTTP/1.1\r\nHost: x\r\n")  # never ends the head
            assert reply.startswith(b"HTTP/1.1 408"), reply[:100]
            reply = raw_exchange(web, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 +
                                 b"\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 431"), reply[:100]
            reset_mid_body(web, lb)
            wait_until(lambda: lb.metric("greenlb_client_errors_total", reason="reset") == 1,
                       what="the reset counted")
            web_connections += 4
            m = lb.metrics()
            assert samples(m, "greenlb_client_errors_total") == {
                labelled(listener="web", reason="bad_request"): 1,
                labelled(listener="web", reason="header_timeout"): 1,
                labelled(listener="web", reason="too_large"): 1,
                labelled(listener="web", reason="reset"): 1,
                labelled(listener="edge", reason="bad_request"): 0,
                labelled(listener="edge", reason="header_timeout"): 0,
                labelled(listener="edge", reason="too_large"): 0,
                labelled(listener="edge", reason="reset"): 0,
                labelled(listener="web", reason="http2_protocol"): 0,
                labelled(listener="web", reason="http2_flood"): 0,
                labelled(listener="edge", reason="http2_protocol"): 0,
                labelled(listener="edge", reason="http2_flood"): 0,
                labelled(listener="web", reason="proxy_protocol"): 0,
                labelled(listener="edge", reason="proxy_protocol"): 0,
            }
            assert samples(m, "greenlb_connections_accepted_total")[labelled(listener="web")] == \
                web_connections
            wait_until(lambda: lb.metric("greenlb_connections_active") == 0, what="all closed")
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_in_flight") == 0,
                       what="nothing in flight")

            # A reload that rebuilds upstream "app" (its config changed) keeps every counter.
            before = counters_only(lb.metrics())
            time.sleep(0.01)  # the reload timestamp must move
            lb.reload(config(web, edge, admin, [a.address, b.address], c.address,
                             app_extra='balance = "least_conn"'))
            after = lb.metrics()
            assert counters_only(after) == before
            assert lb.reloads() == {"success": 1, "failure": 0}
            assert after[("greenlb_config_last_reload_success_timestamp_seconds",
                          frozenset())] > first_load
            assert lb.status()["generation"] == 2

            # A failed reload counts as a failure and changes nothing else.
            broken = config(web, edge, admin, [a.address, b.address], c.address)
            lb.reload(broken.replace('path = "off"', 'path = "off"\nbogus = 1'),
                      expect_success=False)
            assert lb.reloads() == {"success": 1, "failure": 1}
            assert counters_only(lb.metrics()) == before
            assert lb.status()["generation"] == 2

            # And counting goes on where it was.
            for _ in range(3):
                assert http_get(web, "/status/200")[0] == 200
            lb.wait_requests_finished(15, "greenlb_requests_total", listener="web",
                                      upstream="app", code="200")
            assert lb.metric("greenlb_requests_total", listener="web", upstream="app",
                             code="200") == 15
            assert lb.metric("greenlb_upstream_requests_total", upstream="app", code="200") == 15


def test_per_endpoint_metrics_switch():
    with Upstream("a") as a, Upstream("c") as c:
        web, edge, admin = free_port(), free_port(), free_port()
        with Greenlb(config(web, edge, admin, [a.address], c.address,
                            per_endpoint=False)) as lb:
            for _ in range(5):
                assert http_get(web, "/")[0] == 200
            lb.wait_requests_finished(5)
            text = lb.metrics_text()
            families = family_names(text)
            assert not families & ENDPOINT_FAMILIES
            assert "endpoint=" not in text
            assert lb.metric("greenlb_requests_total", upstream="app", code="200") == 5
            assert "greenlb_upstream_first_byte_duration_seconds" in families
            # /status still lists the endpoints: only the exposition is trimmed.
            app = next(u for u in lb.status()["upstreams"] if u["name"] == "app")
            assert [e["address"] for e in app["endpoints"]] == [a.address]

            # Switched on by a reload: the endpoint series are back, having counted all along.
            lb.reload(config(web, edge, admin, [a.address], c.address, per_endpoint=True))
            families = family_names(lb.metrics_text())
            assert {"greenlb_upstream_requests_total", "greenlb_upstream_endpoint_up",
                    "greenlb_upstream_endpoint_in_flight",
                    "greenlb_upstream_connect_failures_total"} <= families
            assert lb.metric("greenlb_upstream_requests_total", upstream="app",
                             endpoint=a.address, code="200") == 5


def test_endpoint_removed_by_reload_leaves_the_exposition_after_its_requests():
    with Upstream("a") as a, Upstream("b") as b, Upstream("c") as c:
        web, edge, admin = free_port(), free_port(), free_port()
        with Greenlb(config(web, edge, admin, [b.address], c.address)) as lb:
            for _ in range(4):
                assert http_get(web, "/")[0] == 200
            # A slow request in flight on b while the reload replaces b by a.
            result = []
            slow = threading.Thread(
                target=lambda: result.append(http_get(web, "/slow?ms=1500", timeout=10)))
            slow.start()
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_in_flight",
                                         endpoint=b.address) == 1, what="b in flight")
            lb.reload(config(web, edge, admin, [a.address], c.address))
            app = next(u for u in lb.status()["upstreams"] if u["name"] == "app")
            assert [e["address"] for e in app["endpoints"]] == [a.address]
            # Still in flight: b's series stay, with their counts.
            m = lb.metrics()
            assert m[("greenlb_upstream_endpoint_in_flight",
                      labelled(upstream="app", endpoint=b.address))] == 1
            assert m[("greenlb_upstream_requests_total",
                      labelled(upstream="app", endpoint=b.address, code="200"))] == 4
            for _ in range(3):
                assert http_get(web, "/")[2] == b"a\n"
            slow.join(timeout=10)
            assert result and result[0][0] == 200 and result[0][2] == b"b\n"
            # Done: b's series leave the exposition (hubs free unused pools every 5 s).
            lb.wait_requests_finished(8)
            wait_until(lambda: b.address not in lb.metrics_text(), timeout=20,
                       interval=0.25, what="b's series to leave the exposition")
            assert lb.metric("greenlb_upstream_requests_total", upstream="app",
                             endpoint=a.address, code="200") == 3
            # Cluster-wide totals keep counting what b answered.
            assert lb.metric("greenlb_requests_total", listener="web", code="200") == 8


def test_bytes_counters_are_exact_for_bodies_in_every_shape():
    """Every byte a client sent (heads and bodies, whether a body came with its head, after
    it, or chunked) and every byte it got back are counted exactly once."""
    with Upstream("a") as up:
        from greenlb_testlib import basic_config
        text, port, _ = basic_config([up.address])
        with Greenlb(text) as lb:
            requests = [
                [b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
                # A small POST: the body comes in the same segment as its head.
                [b"POST /sink HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 11\r\n\r\nhello world"],
                # The body after its head.
                [b"POST /sink HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\n", b"abcde"],
                # Chunked, the first chunk with the head.
                [b"POST /sink HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                 b"6\r\n world\r\n0\r\n\r\n"],
            ]
            sent = received = 0
            for parts in requests:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    for i, part in enumerate(parts):
                        if i:
                            time.sleep(0.05)
                        s.sendall(part)
                        sent += len(part)
                    while chunk := s.recv(65536):
                        received += len(chunk)
            lb.wait_requests_finished(len(requests), listener="web")
            assert lb.metric("greenlb_bytes_received_total", listener="web") == sent
            assert lb.metric("greenlb_bytes_sent_total", listener="web") == received
