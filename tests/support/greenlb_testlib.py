"""Helpers for greenlb's integration tests: the real binary, real upstream processes, real
sockets, all on 127.0.0.1. Every wait is bounded.

    with Upstream("a") as a, Greenlb(config_text) as lb:
        status, headers, body = http_get(lb.port("web"), "/")
"""
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHON = "/usr/bin/python3"  # Debian's, with python3-h11 and python3-websockets
GREENLB_BIN = os.environ.get("GREENLB_BIN", str(ROOT / "build" / "greenlb"))
SUPPORT = pathlib.Path(__file__).resolve().parent


def artefact(name):
    """Where a test keeps a file for people to look at (a screenshot): $GREENLB_ARTEFACTS
    (ctest sets it to <build dir>/test-artefacts), else build/test-artefacts."""
    folder = pathlib.Path(os.environ.get("GREENLB_ARTEFACTS") or ROOT / "build" / "test-artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def free_port():
    """A port nothing listens on right now (the kernel's choice for an ephemeral bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def start_server(command, what, port=None):
    """Starts a test server process that prints "ready" once it listens: (process, port).
    `command(port)` is its argv. A port chosen by free_port() can be taken by someone else
    before the server binds it (tests run in parallel): another one is tried then."""
    for attempt in range(1 if port else 3):
        chosen = port or free_port()
        errors = tempfile.TemporaryFile()
        proc = subprocess.Popen(command(chosen), stdout=subprocess.PIPE, stderr=errors, text=True)
        if proc.stdout.readline().strip() == "ready":
            return proc, chosen
        proc.kill()
        proc.wait(timeout=10)
        errors.seek(0)
        why = errors.read()[-500:].decode(errors="replace")
    raise RuntimeError(f"{what} did not start: {why}")


class Upstream:
    """tests/support/upstream_server.py in its own process."""

    def __init__(self, name="upstream", mode="normal", idle_close=0.0, port=None, host="127.0.0.1",
                 args=()):
        self.name = name
        self.host = host
        self.args = [str(a) for a in args]
        def command(p):
            cmd = [PYTHON, str(SUPPORT / "upstream_server.py"), "--port", str(p),
                   "--host", host, "--name", name, "--mode", mode, *self.args]
            if idle_close:
                cmd += ["--idle-close", str(idle_close)]
            return cmd

        self.proc, self.port = start_server(command, f"upstream {name}", port)

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def get_json(self, path):
        with self.get(path) as r:
            return json.loads(r.read())

    def get(self, path):
        """A request of the test's own (not through greenlb); TLS unverified when it serves TLS."""
        if "--tls-cert" in self.args:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return urllib.request.urlopen(f"https://{self.address}{path}", timeout=5, context=ctx)
        return urllib.request.urlopen(f"http://{self.address}{path}", timeout=5)

    def stats(self):
        return self.get_json("/_stats")

    def requests(self):
        return self.get_json("/_requests")

    def set_health(self, healthy):
        self._call(f"/_health/{'up' if healthy else 'down'}")

    def fail_with(self, status):
        """Every request (but /healthz and control paths) answered `status`; 0 stops it."""
        self._call(f"/_fail/{status}")

    def delay(self, ms):
        """Every request (but /healthz and control paths) waits `ms` first; 0 stops it."""
        self._call(f"/_delay/{ms}")

    def _call(self, path):
        with self.get(path) as r:
            r.read()

    def hits(self, path):
        """How many requests for `path` (query ignored) this upstream has seen."""
        return sum(1 for r in self.requests() if r[1].split("?")[0] == path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class GrpcBackend:
    """tests/support/grpc_server.py in its own process (python3-grpcio)."""

    def __init__(self, name, args=()):
        self.name = name
        self.proc, self.port = start_server(
            lambda p: [PYTHON, str(SUPPORT / "grpc_server.py"), "--port", str(p), "--name", name,
                       *[str(a) for a in args]], f"gRPC backend {name}")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def call(self, method, request=b"", timeout=5):
        """A call of the test's own, straight to this backend."""
        import grpc
        with grpc.insecure_channel(self.address) as ch:
            return ch.unary_unary(method)(request, timeout=timeout)

    def stats(self):
        return json.loads(self.call("/test.Control/Stats"))

    def set_health(self, up):
        self.call("/test.Control/SetHealth", b"up" if up else b"down")

    def stop(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=15)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Greenlb:
    """The greenlb binary running `config` (TOML text) from a temp dir."""

    def __init__(self, config, start=True, extra_files=None, env=None):
        self.dir = tempfile.TemporaryDirectory(prefix="greenlb-test-")
        self.path = pathlib.Path(self.dir.name) / "greenlb.toml"
        for name, content in (extra_files or {}).items():
            (pathlib.Path(self.dir.name) / name).write_text(content)
        self.path.write_text(config)
        self.log_path = pathlib.Path(self.dir.name) / "greenlb.log"
        self.proc = None
        self.env = env
        if start:
            self.start()

    # --- process ---
    def start(self, wait_ready=True):
        self.log_file = open(self.log_path, "w")
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = subprocess.Popen([GREENLB_BIN, "-c", str(self.path)], stdout=self.log_file,
                                     stderr=subprocess.STDOUT, env=env)
        if wait_ready:
            wait_until(lambda: self.proc.poll() is not None or self.ready(), timeout=15,
                       what="greenlb /readyz")
            if self.proc.poll() is not None:
                raise RuntimeError(f"greenlb exited with {self.proc.returncode}:\n{self.log()}")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig` and returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise
        self.log_file.close()
        return self.proc.returncode

    def log(self):
        if not self.log_file.closed:
            self.log_file.flush()
        return self.log_path.read_text()

    def pid(self):
        return self.proc.pid

    # --- config ---
    def _config_value(self, pattern):
        m = re.search(pattern, self.path.read_text(), re.S)
        return m.group(1) if m else None

    def port(self, listener):
        text = self.path.read_text()
        for block in re.split(r"\[\[listener\]\]", text)[1:]:
            if re.search(r'name\s*=\s*"%s"' % re.escape(listener), block):
                return int(re.search(r'listen\s*=\s*"[^"]*:(\d+)"', block).group(1))
        raise KeyError(listener)

    @property
    def admin_port(self):
        m = re.search(r'\[admin\][^\[]*listen\s*=\s*"[^"]*:(\d+)"', self.path.read_text())
        return int(m.group(1)) if m else 9901

    def reload(self, config, expect_success=True, timeout=15):
        before = self.reloads()
        self.path.write_text(config)
        self.send_signal(signal.SIGHUP)
        key = "success" if expect_success else "failure"
        wait_until(lambda: self.reloads()[key] > before[key], timeout=timeout,
                   what=f"reload {key}")

    # --- admin ---
    def admin_get(self, path, headers=None, timeout=5):
        return http_get(self.admin_port, path, headers=headers, timeout=timeout)

    def ready(self):
        try:
            return self.admin_get("/readyz", timeout=1)[0] == 200
        except OSError:
            return False

    def status(self):
        return json.loads(self.admin_get("/status")[2])

    def metrics_text(self):
        return self.admin_get("/metrics")[2].decode()

    def metrics(self):
        """{(name, frozenset(labels.items())): value}"""
        return parse_metrics(self.metrics_text())

    def metric(self, metric_name, **labels):
        """Sum of the samples of `metric_name` whose labels include `labels`."""
        total = 0.0
        for (n, ls), v in self.metrics().items():
            if n == metric_name and all(dict(ls).get(k) == str(val) for k, val in labels.items()):
                total += v
        return total

    def wait_requests_finished(self, n, family="greenlb_request_duration_seconds_count",
                               timeout=10, **labels):
        """Waits until `family` (matching labels) counts n. greenlb counts a request when its
        exchange finishes, just after the last byte is written: a client that has read the
        whole response may scrape a moment before that. The duration histogram is the last
        request family counted, so by default every other one is in by then."""
        wait_until(lambda: self.metric(family, **labels) >= n, timeout=timeout,
                   what=f"{family} {labels} to reach {n}")

    def reloads(self):
        m = self.metrics()
        get = lambda r: m.get(("greenlb_config_reloads_total", frozenset({("result", r)})), 0)
        return {"success": get("success"), "failure": get("failure")}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.dir.cleanup()


_SAMPLE = re.compile(r'^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = frozenset(_LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def http_get(port, path, headers=None, timeout=5, method="GET", body=None):
    """One request on a fresh connection: (status, headers dict lower-cased, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def raw_exchange(port, data, timeout=5, read_until_close=True):
    """Sends raw bytes and returns everything received until the peer closes (or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not read_until_close:
                break
        return b"".join(chunks)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_config(echo, workers=None, listener_extra="", upstream_extra=""):
    """A tcp listener "db" in front of the server `echo`: (toml text, listener port)."""
    port, admin = free_port(), free_port()
    global_section = "" if workers is None else f"[global]\nworkers = {workers}\n"
    return f"""
{global_section}
[admin]
listen = "127.0.0.1:{admin}"

[access_log]
path = "off"

[[listener]]
name = "db"
listen = "127.0.0.1:{port}"
protocol = "tcp"
upstream = "echo"
{listener_extra}

[[upstream]]
name = "echo"
endpoints = ["{echo.address}"]
{upstream_extra}""", port


def basic_config(upstreams, listen_port=None, admin_port=None, workers=2, extra_global="",
                 upstream_extra="", listener_extra="", balance="round_robin"):
    """A one-listener, one-upstream config: (toml text, listener port, admin port)."""
    listen_port = listen_port or free_port()
    admin_port = admin_port or free_port()
    endpoints = ", ".join(f'"{u}"' for u in upstreams)
    text = f"""
[global]
workers = {workers}
graceful_timeout = "5s"
{extra_global}

[admin]
listen = "127.0.0.1:{admin_port}"
allow_reload = true

[access_log]
path = "off"

[[listener]]
name = "web"
listen = "127.0.0.1:{listen_port}"
upstream = "app"
{listener_extra}

[[upstream]]
name = "app"
balance = "{balance}"
endpoints = [{endpoints}]
{upstream_extra}
"""
    return text, listen_port, admin_port


class ScriptServer:
    """A support script (websocket_echo.py, tcp_echo.py, dns_server.py) run as its own
    process on a port: `script PORT [args...]`."""

    def __init__(self, script, port=None, args=()):
        self.port = port or free_port()
        self.proc = subprocess.Popen([PYTHON, str(SUPPORT / script), str(self.port), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError(f"{script} did not start")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- lifecycle helpers (issue 7): a load client that tells failures apart ---

class NotAnswered(Exception):
    """The connection ended (EOF or reset) before any byte of the response."""


class RawHttpConnection:
    """One client connection speaking just enough HTTP/1.1 to tell apart, for a request, a
    connection that ended before any response byte from one that broke mid-response."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.served = 0  # responses read on this connection
        self.open = True

    def close(self):
        self.open = False
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def request(self, path, method="GET", body=b"", headers=()):
        """Sends one request and reads its response: (status, headers dict, body). Raises
        NotAnswered when the connection ends before the first response byte."""
        lines = [f"{method} {path} HTTP/1.1", "Host: greenlb.test"]
        lines += [f"{k}: {v}" for k, v in headers]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        try:
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            while not self.buf:
                self._fill()
        except (EOFError, ConnectionResetError, BrokenPipeError) as e:
            self.close()
            raise NotAnswered(str(e)) from e
        return self.read_response()

    def read_response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        headers = {}
        for line in header_lines:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n:]
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                data += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
        else:
            data = b""
        self.served += 1
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data


class LoadRun:
    """A bounded load run from `threads` client threads against 127.0.0.1:`port`: even
    threads keep connections alive (up to `per_connection` requests each), odd ones open a
    new connection per request. Each request is one outcome:

      ok          a 200 response, read whole
      refused     connect() was refused: nothing accepted the connection
      closed_idle a kept-alive connection ended before any byte of the response to a
                  request sent on it (the keep-alive close race: the server never read it)
      unanswered  a fresh connection ended before any response byte
      failed      anything else: another status, a reset or EOF mid-response, a timeout
    """

    OUTCOMES = ("ok", "refused", "closed_idle", "unanswered", "failed")

    def __init__(self, port, path="/", threads=8, per_connection=20, pause=0.0, timeout=10):
        import threading
        self.port = port
        self.path = path
        self.per_connection = per_connection
        self.pause = pause
        self.timeout = timeout
        self.results = []  # (started, ended, outcome, detail); list.append is thread-safe
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._worker, args=(i % 2 == 0,), daemon=True)
                         for i in range(threads)]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout=30):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=timeout)
        if any(t.is_alive() for t in self._threads):
            raise TimeoutError("load threads did not stop")
        return self

    def _worker(self, keep_alive):
        conn = None
        while not self._stop.is_set():
            started = time.monotonic()
            path = self.path() if callable(self.path) else self.path
            try:
                if conn is None or not conn.open or not keep_alive or \
                        conn.served >= self.per_connection:
                    if conn is not None:
                        conn.close()
                    conn = None
                    conn = RawHttpConnection(self.port, timeout=self.timeout)
                reused = conn.served > 0
                status, _, body = conn.request(path)
                outcome, detail = ("ok", body) if status == 200 else ("failed", f"status {status}")
            except ConnectionRefusedError:
                outcome, detail = "refused", ""
            except NotAnswered as e:
                outcome, detail = ("closed_idle" if reused else "unanswered"), str(e)
            except Exception as e:  # every other error is a failed request
                outcome, detail = "failed", repr(e)
                if conn is not None:
                    conn.close()
            if outcome != "ok" and conn is not None:
                conn.close()
            self.results.append((started, time.monotonic(), outcome, detail))
            if not keep_alive and conn is not None:
                conn.close()
            if outcome == "refused":
                time.sleep(0.01)  # nothing listens: do not spin
            elif self.pause:
                time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def count(self, outcome=None, since=None, until=None):
        return sum(1 for s, e, o, _ in self.results
                   if (outcome is None or o == outcome) and (since is None or s >= since)
                   and (until is None or e <= until))

    def summary(self):
        return {o: self.count(o) for o in self.OUTCOMES}

    def problems(self, outcomes=("failed", "unanswered", "closed_idle", "refused"), limit=5):
        return [(o, d) for _, _, o, d in self.results if o in outcomes][:limit]


class ReadyzWatch:
    """Polls /readyz on one kept-alive admin connection from a thread: `first(503)` is the
    monotonic time the first 503 was seen."""

    def __init__(self, admin_port, interval=0.002):
        import threading
        self.port = admin_port
        self.interval = interval
        self.seen = []  # (monotonic time, status)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        wait_until(lambda: self.seen, timeout=5, what="a first /readyz answer")
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self):
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None or not conn.open:
                    conn = RawHttpConnection(self.port, timeout=2)
                status = conn.request("/readyz")[0]
                self.seen.append((time.monotonic(), status))
            except Exception:  # the process went away: keep trying until stopped
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(self.interval)

    def first(self, status):
        for t, s in self.seen:
            if s == status:
                return t
        return None
