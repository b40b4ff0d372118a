"""DNS discovery ([upstream] dns + resolve_every) against a DNS server the test runs on
127.0.0.1 (tests/support/dns_server.py), whose answers change while greenlb runs."""
import pathlib
import threading

from greenlb_testlib import Greenlb, ScriptServer, Upstream, free_port, http_get, wait_until


class DnsServer(ScriptServer):
    """dns_server.py answering from a zone file the test rewrites."""

    def __init__(self, zone_path):
        self.zone = pathlib.Path(zone_path)
        self.zone.write_text("")
        super().__init__("dns_server.py", args=[str(self.zone)])

    def answer(self, name, *values):
        self.zone.write_text(f"{name} {' '.join(values)}\n" if values else "")

    def queries(self):
        path = pathlib.Path(str(self.zone) + ".queries")
        return len(path.read_text().splitlines()) if path.exists() else 0


def config(dns_port, upstream_port, dir_path):
    listen, admin = free_port(), free_port()
    (dir_path / "resolv.conf").write_text(
        f"nameserver 127.0.0.1:{dns_port}\noptions timeout:1 attempts:1\n")
    (dir_path / "hosts").write_text("")  # nothing from a hosts file: every answer is DNS's
    return f"""
[global]
workers = 2
graceful_timeout = "5s"
resolv_conf = "resolv.conf"
hosts_file = "hosts"

[admin]
listen = "127.0.0.1:{admin}"

[access_log]
path = "off"

[[listener]]
name = "web"
listen = "127.0.0.1:{listen}"
upstream = "app"

[[upstream]]
name = "app"
dns = "app.test:{upstream_port}"
resolve_every = "200ms"
"""


def endpoints(lb):
    return sorted(e["address"] for e in lb.status()["upstreams"][0]["endpoints"])


def served_by(port, n):
    out = set()
    for _ in range(n):
        status, headers, _ = http_get(port, "/")
        assert status == 200
        out.add(headers["x-upstream"])
    return out


def test_dns_membership_follows_the_answers_at_runtime(tmp_path):
    port = free_port()
    with DnsServer(tmp_path / "zone") as dns, \
            Upstream("one", host="127.0.0.1", port=port), \
            Upstream("two", host="127.0.0.2", port=port), \
            Upstream("three", host="127.0.0.3", port=port):
        dns.answer("app.test", "127.0.0.1", "127.0.0.2")
        lb = Greenlb("", start=False)
        with lb:
            lb.path.write_text(config(dns.port, port, pathlib.Path(lb.dir.name)))
            lb.start()
            web = lb.port("web")
            # Resolved before serving: the first requests already have both endpoints.
            assert endpoints(lb) == [f"127.0.0.1:{port}", f"127.0.0.2:{port}"]
            assert served_by(web, 10) == {"one", "two"}

            # Requests in flight on an endpoint that leaves finish normally (they hold it),
            # also past a pool sweep (every 5 s).
            slow = []
            threads = [threading.Thread(
                target=lambda: slow.append(http_get(web, "/slow?ms=5600", timeout=15)))
                for _ in range(4)]
            for t in threads:
                t.start()
            wait_until(lambda: sum(e["in_flight"] for e in lb.status()["upstreams"][0]["endpoints"]) == 4,
                       timeout=5, what="slow requests in flight")

            dns.answer("app.test", "127.0.0.2", "127.0.0.3")
            wait_until(lambda: endpoints(lb) == [f"127.0.0.2:{port}", f"127.0.0.3:{port}"],
                       timeout=10, what="membership 2, 3")
            assert served_by(web, 10) == {"two", "three"}

            # A failed resolution keeps the last good membership.
            dns.answer("app.test", "SERVFAIL")
            before = dns.queries()
            wait_until(lambda: dns.queries() >= before + 3, timeout=10, what="failing queries")
            assert endpoints(lb) == [f"127.0.0.2:{port}", f"127.0.0.3:{port}"]
            assert served_by(web, 6) == {"two", "three"}
            assert "cannot resolve" in lb.log()

            # The name going away empties the upstream: 503 no_healthy.
            dns.answer("other.test", "127.0.0.1")
            wait_until(lambda: endpoints(lb) == [], timeout=10, what="empty membership")
            assert http_get(web, "/")[0] == 503
            assert lb.metric("greenlb_upstream_unavailable_total", upstream="app",
                             reason="no_healthy") == 1

            dns.answer("app.test", "127.0.0.3")
            wait_until(lambda: endpoints(lb) == [f"127.0.0.3:{port}"], timeout=10,
                       what="membership 3")
            assert served_by(web, 4) == {"three"}

            for t in threads:
                t.join(timeout=15)
            assert [s for s, _, _ in slow] == [200] * 4

            # Endpoints that left, once nothing uses them, are forgotten by every worker
            # (a pool sweep every 5 s): their series leave /metrics.
            def series(address):
                return [k for k in lb.metrics() if dict(k[1]).get("endpoint") == address]
            wait_until(lambda: not series(f"127.0.0.1:{port}") and not series(f"127.0.0.2:{port}"),
                       timeout=15, what="removed endpoints' series gone")
            assert series(f"127.0.0.3:{port}")
            assert lb.proc.poll() is None
            assert lb.stop() == 0


def test_a_reload_that_changes_only_the_resolver_files_resolves_with_them(tmp_path):
    port = free_port()
    with DnsServer(tmp_path / "zone") as dns, \
            Upstream("one", host="127.0.0.1", port=port), \
            Upstream("three", host="127.0.0.3", port=port):
        dns.answer("app.test", "127.0.0.1")
        lb = Greenlb("", start=False)
        with lb:
            directory = pathlib.Path(lb.dir.name)
            text = config(dns.port, port, directory)
            lb.path.write_text(text)
            lb.start()
            web = lb.port("web")
            assert endpoints(lb) == [f"127.0.0.1:{port}"]
            # Only [global] hosts_file changes: the upstream's own keys are the same, yet
            # its names must now resolve through the new file (it wins over DNS).
            (directory / "hosts.new").write_text("127.0.0.3 app.test\n")
            lb.reload(text.replace('hosts_file = "hosts"', 'hosts_file = "hosts.new"'))
            wait_until(lambda: endpoints(lb) == [f"127.0.0.3:{port}"], timeout=10,
                       what="the endpoint from the new hosts file")
            assert served_by(web, 4) == {"three"}
