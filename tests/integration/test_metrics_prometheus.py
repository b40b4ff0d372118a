"""A real Prometheus server (Debian's `prometheus`, in the foreground on 127.0.0.1 with a
temp storage dir) scrapes greenlb's admin listener every second; its query API must show
the traffic sent through the proxy (issue 6). Prometheus asks for OpenMetrics, so this also
runs greenlb's OpenMetrics exposition through Prometheus' own parser."""
import json
import shutil
import signal
import subprocess
import tempfile
import urllib.parse
import urllib.request

import pytest

from greenlb_testlib import Greenlb, Upstream, basic_config, free_port, http_get, wait_until

REQUESTS = 17


class Prometheus:
    def __init__(self, targets):
        self.dir = tempfile.TemporaryDirectory(prefix="greenlb-prometheus-")
        self.port = free_port()
        config = f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: greenlb
    static_configs:
      - targets: [{", ".join(f"'{t}'" for t in targets)}]
"""
        with open(f"{self.dir.name}/prometheus.yml", "w") as f:
            f.write(config)
        self.log = open(f"{self.dir.name}/prometheus.log", "w+")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.dir.name}/prometheus.yml",
             f"--storage.tsdb.path={self.dir.name}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is not None or self._ready(), timeout=20,
                   interval=0.1, what="prometheus /-/ready")
        assert self.proc.poll() is None, self.output()

    def _ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return body["data"]

    def scalar(self, query):
        """The single value of an instant query, or None while it has no result."""
        result = self.api("query", query=query)["result"]
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()
        self.dir.cleanup()


@pytest.mark.skipif(shutil.which("prometheus") is None,
                    reason="prometheus not installed (Debian package prometheus)")
def test_prometheus_scrapes_greenlb_and_sees_the_traffic():
    with Upstream("a") as a:
        text, port, admin = basic_config([a.address])
        with Greenlb(text) as lb, Prometheus([f"127.0.0.1:{admin}"]) as prom:
            for i in range(REQUESTS):
                assert http_get(port, "/status/404" if i % 4 == 0 else "/")[0] in (200, 404)
            try:
                wait_until(lambda: prom.scalar('up{job="greenlb"}') == 1, timeout=30,
                           interval=0.5, what="greenlb up in prometheus")
                wait_until(lambda: prom.scalar("sum(greenlb_requests_total)") == REQUESTS,
                           timeout=30, interval=0.5, what="the traffic in prometheus")
            except TimeoutError:
                pytest.fail("prometheus never saw the traffic; targets: "
                            f"{prom.api('targets')}\n{prom.output()}")
            assert prom.scalar('sum(greenlb_requests_total{code="404"})') == 5
            assert prom.scalar('greenlb_upstream_endpoint_up{upstream="app"}') == 1
            assert prom.scalar("sum(greenlb_request_duration_seconds_count)") == REQUESTS
            assert prom.scalar("count(greenlb_hub_fibers)") == 2
            # The scrape went through cleanly (OpenMetrics negotiated and parsed).
            (target,) = prom.api("targets")["activeTargets"]
            assert target["health"] == "up" and target["lastError"] == ""
            assert prom.stop() == 0
            assert lb.metric("greenlb_requests_total") == REQUESTS
