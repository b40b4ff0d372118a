"""The admin listener's status page (`/`) in headless Chromium: its script loads /status and
fills the tables; a screenshot of the page is taken (issue 6). Skipped only when Chromium is
not installed (tests/run.sh installs Debian's chromium)."""
import html.parser
import re
import shutil
import subprocess
import tempfile

import pytest

from greenlb_testlib import Greenlb, Upstream, free_port, http_get, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed")


class TableRows(html.parser.HTMLParser):
    """The text of every <td> of every body row, per table id."""

    def __init__(self):
        super().__init__()
        self.tables, self.table, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.table = self.tables.setdefault(dict(attrs).get("id"), [])
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:  # header rows have <th> only
                self.table.append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def chromium(*args, timeout=90):
    with tempfile.TemporaryDirectory(prefix="greenlb-chromium-") as profile:
        return subprocess.run(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1200,900",
             "--virtual-time-budget=5000", *args],
            capture_output=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def lb():
    dead = f"127.0.0.1:{free_port()}"  # refuses connections: ejected after one failure
    with Upstream("a") as a, Upstream("b") as b:
        web, admin = free_port(), free_port()
        text = f"""
[global]
workers = 2

[admin]
listen = "127.0.0.1:{admin}"

[access_log]
path = "off"

[[listener]]
name = "web"
listen = "127.0.0.1:{web}"
upstream = "app"
  [[listener.route]]
  path_prefix = "/api/"
  upstream = "api"

[[upstream]]
name = "app"
endpoints = ["{a.address}", {{ address = "{b.address}", weight = 3 }}]

[[upstream]]
name = "api"
endpoints = ["{a.address}", "{dead}"]
  [upstream.outlier]
  consecutive_failures = 1
  ejection = "5m"
"""
        with Greenlb(text) as lb:
            for _ in range(8):
                assert http_get(web, "/")[0] == 200
                assert http_get(web, "/api/x")[0] == 200  # retried away from the dead one

            def dead_ejected():
                api = next(u for u in lb.status()["upstreams"] if u["name"] == "api")
                return any(e["address"] == dead and e["ejected_until"] is not None
                           for e in api["endpoints"])

            wait_until(dead_ejected, what="the dead endpoint ejected")
            lb.addresses = {"a": a.address, "b": b.address, "dead": dead}
            yield lb


def test_the_page_fills_its_tables_from_status(lb):
    url = f"http://127.0.0.1:{lb.admin_port}/"
    run = chromium("--dump-dom", url)
    dom = run.stdout.decode(errors="replace")
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    parser = TableRows()
    parser.feed(dom)
    upstreams = parser.tables.get("upstreams")
    assert upstreams, dom[-3000:]
    # upstream, balance, endpoint, state, weight, in flight, requests/s
    rows = {(r[0], r[2]): r for r in upstreams}
    addr = lb.addresses
    assert set(rows) == {("app", addr["a"]), ("app", addr["b"]), ("api", addr["a"]),
                         ("api", addr["dead"])}
    assert rows[("app", addr["a"])][1:5] == ["round_robin", addr["a"], "up", "1"]
    assert rows[("app", addr["b"])][3:5] == ["up", "3"]
    assert rows[("api", addr["a"])][3] == "up"
    assert rows[("api", addr["dead"])][3] == "ejected"
    (listener,) = parser.tables["listeners"]
    assert listener[:3] == ["web", f"127.0.0.1:{lb.port('web')}", "http"]
    assert [r[0] for r in parser.tables["hubs"]] == ["0", "1"]
    assert "generation 1" in dom
    # The page's own script holds the words "cannot load /status": look at what it shows.
    shown = re.search(r'<div id="error">(.*?)</div>', dom, re.S)
    assert shown is not None and shown.group(1).strip() == "", shown and shown.group(1)


def test_screenshot_shows_the_page(lb, tmp_path):
    shot = tmp_path / "status.png"
    run = chromium(f"--screenshot={shot}", f"http://127.0.0.1:{lb.admin_port}/")
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 900)
    # A blank 1200x900 PNG compresses to a few KiB; text and tables take far more.
    assert len(data) > 20_000, len(data)
