#!/usr/bin/python3
"""greenlb vs HAProxy 2.6 vs nginx 1.22 as a reverse proxy, side by side, one worker each.

    tests/bench/compare.sh [--quick] [--reps N] [--out DIR] [--greenlb PATH]

Installs what it needs (apt: wrk, haproxy, nginx-light, linux-perf, valgrind), starts two
nginx upstreams (one worker each: a small body and a 16 KiB body), then for every
repetition and workload starts each proxy fresh, pinned to CPU 0 (wrk and the upstreams
share CPU 1), and measures:

  rps, p50, p99    wrk over the measured window
  cpu_us           the proxy's utime+stime (/proc/PID/stat) over the window / requests
  syscalls         raw_syscalls:sys_enter per request, `perf stat -p PID` in a separate
                   short pass after the window (perf perturbs latency)
  instr            instructions per request: `perf stat -e instructions -p PID` in that
                   pass where the CPU exposes counters; where it does not (VMs without a
                   virtual PMU, like the machines this runs on) a separate pass with the
                   proxy under `valgrind --tool=callgrind`, counters zeroed and dumped
                   around a steady-state window. Callgrind counts user-space instructions
                   only; kernel work shows up in `syscalls` and `cpu_us`.

Requests in the short passes are counted at the upstreams (nginx stub_status), so the
count and the instruction window cover the same steady-state interval.

Workloads: W1 keep-alive, small body, 64 connections; W2 keep-alive, 16 KiB body, 64
connections; W3 a new connection per request (Connection: close), 64 at a time; W4
keep-alive, small body, 1,000 connections; plus the direct ceiling (wrk straight at the
upstreams, W1 and W2 shapes). HTTP/2 from clients, with h2load (h2c with prior
knowledge): H1 many small streams on few connections (16 connections x 32 streams), H2 the
same with 16 KiB responses, both to the HTTP/1.1 upstreams; G1 small gRPC-shaped POSTs
(content-type application/grpc) to an h2c upstream (nginx with `listen ... http2`):
HAProxy `server ... proto h2`, nginx `grpc_pass`, greenlb `protocol = "http2"`. Order of
the proxies rotates per repetition; ratios to HAProxy are taken within a repetition, then
the median over repetitions (and their spread, min-max).

`--systems greenlb,greenlb-gw,haproxy` adds greenlb-gw: greenlb with a header rule on
every request and a rate limit that is never hit, to see what the gateway features cost
(compare its CPU/req with greenlb's in the same run).

A quiet machine: before each run the load average must be under 1.0 (it waits up to 60 s
for it), and during the window processes other than the ones measured may use at most 5%
of a CPU; a run that breaks either is marked `loaded` and the report says so loudly (a
loaded machine gives different ratios, not just noisier ones).

Idle memory: 10,000 idle keep-alive client connections (one request each) -> RSS KiB per
connection for each proxy; then up to 19,000 (the fd hard limit is 20,000 per process),
every one served once more, and RSS extrapolated to 100,000 from the 10k->19k slope.
Clients are spread over processes (at most 9,500 sockets each).

Output: OUT/results.json and OUT/results.md (default OUT: build-bench/ in the repo).
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROXY_CPU = "0"      # the proxy under test
LOAD_CPU = "1"       # wrk, the upstream nginx workers, the idle-connection clients
CLK_TCK = os.sysconf("SC_CLK_TCK")
SYSTEMS = ["greenlb", "haproxy", "nginx"]
WORKLOADS = {
    # name: (path, connections, extra headers)
    "W1": ("/", 64, []),
    "W2": ("/big", 64, []),
    "W3": ("/", 64, ["Connection: close"]),
    "W4": ("/", 1000, []),
    # HTTP/2 (h2load): path, connections, streams per connection
    "H1": ("/", 16, []),
    "H2": ("/big", 16, []),
    "G1": ("/grpc.Bench/Echo", 16, ["content-type: application/grpc", "te: trailers"]),
}
H2_STREAMS = 32
H2_WORKLOADS = {"H1", "H2", "G1"}
GRPC_BODY = b"\x00\x00\x00\x00\x05hello"  # one gRPC message of 5 bytes
MAX_LOADAVG = 1.0
MAX_OTHER_CPU = 0.05  # of one CPU, during a window
SMALL_BODY = "hello from the small upstream\n"
BIG_BODY_BYTES = 16 * 1024
PACKAGES = ["wrk", "haproxy", "nginx-light", "linux-perf", "valgrind", "nghttp2-client"]
IDLE_CLIENT_MAX = 9500  # sockets per client process (fd hard limit 20,000 per process)


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# set-up


def ensure_packages():
    """apt-get install what is missing; nothing (not even `apt-get update`) when all is there."""
    missing = [p for p in PACKAGES if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
        text=True).stdout.find("install ok installed") < 0]
    if not missing:
        return
    log("installing", *missing)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
                   + missing, check=True, env=env, stdout=subprocess.DEVNULL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}) before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port} after {timeout}s")


def http_get(port, path, timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read()


def perf_has_instructions():
    r = subprocess.run(["perf", "stat", "-x,", "-e", "instructions", "--", "true"],
                       capture_output=True, text=True)
    return r.returncode == 0 and "<not supported>" not in r.stderr and \
        "<not counted>" not in r.stderr


def machine_description():
    cpu = "unknown CPU"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(open("/proc/meminfo").readline().split()[1]) // 1024
    hv = "VM" if "hypervisor" in open("/proc/cpuinfo").read() else "bare metal"
    return f"{cpu}, {os.cpu_count()} vCPU ({hv}), {mem} MiB, Linux {platform.release()}"


def version_of(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().splitlines()[0]


# --------------------------------------------------------------------------------------
# processes


class Proc:
    """A child process pinned to a CPU, stopped on exit."""

    def __init__(self, args, cpu, log_path, env=None):
        self.log = open(log_path, "w")
        self.popen = subprocess.Popen(["taskset", "-c", cpu] + args, stdout=self.log,
                                      stderr=subprocess.STDOUT, env=env,
                                      start_new_session=True)

    @property
    def pid(self):
        return self.popen.pid  # taskset execs the program: same pid

    def log_text(self):
        return pathlib.Path(self.log.name).read_text()[-3000:]

    def stop(self):
        # The whole process group (its own session): nginx's workers outlive a killed master.
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=30)
        self.log.close()


class Upstreams:
    """Three nginx instances, one worker each, on CPU 1: a small body and a 16 KiB body
    (HTTP/1.1), and a gRPC-shaped answer over h2c (HTTP/2 with prior knowledge)."""

    def __init__(self, work):
        self.work = work
        self.small_port, self.big_port, self.grpc_port = free_port(), free_port(), free_port()
        (work / "big.bin").write_bytes(b"x" * (BIG_BODY_BYTES - 1) + b"\n")
        self.procs = []
        grpc_location = ('default_type application/grpc; add_trailer grpc-status 0; '
                         'return 200 "hello";')
        for name, port, location, listen in [
                ("small", self.small_port, f'return 200 "{SMALL_BODY.strip()}\\n";', ""),
                ("big", self.big_port, "try_files /big.bin =404;", ""),
                ("grpc", self.grpc_port, grpc_location, " http2")]:
            conf = work / f"upstream_{name}.conf"
            conf.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;                  # one worker: the upstreams are not what is measured
worker_rlimit_nofile 20000;
pid {work}/upstream_{name}.pid;
error_log {work}/upstream_{name}.err warn;
events {{ worker_connections 19000; }}
http {{
  access_log off;
  keepalive_requests 1000000000;     # the proxies' pools and wrk reuse connections forever
  keepalive_timeout 600s;
  sendfile on;
  default_type text/plain;
  server {{
    listen 127.0.0.1:{port}{listen} backlog=4096;
    http2_max_requests 1000000000;    # streams per connection: never retired in a run
    root {work};
    location = /_stub {{ stub_status; }}   # requests handled: counts the short passes
    location / {{ {location} }}
  }}
}}
""")
            self.procs.append(Proc(["nginx", "-c", str(conf), "-p", str(work)], LOAD_CPU,
                                   work / f"upstream_{name}.log"))
        wait_port(self.small_port)
        wait_port(self.big_port)
        wait_port(self.grpc_port)

    def requests(self):
        """Requests the upstreams handled so far, not counting these stub reads."""
        total = 0
        for port in (self.small_port, self.big_port):
            _, body = http_get(port, "/_stub")
            total += int(body.decode().splitlines()[2].split()[2]) - 1
        r = subprocess.run(["nghttp", f"http://127.0.0.1:{self.grpc_port}/_stub"],
                           capture_output=True, text=True, timeout=30)
        total += int(r.stdout.splitlines()[2].split()[2]) - 1
        return total

    def pids(self):
        return [p.pid for p in self.procs]

    def stop(self):
        for p in self.procs:
            p.stop()


# --------------------------------------------------------------------------------------
# the proxies: one config each, the same shape (route /big to the big upstream, everything
# else to the small one), the same pooling, the same header work


# greenlb-gw: the same, with the gateway features configured as a user would, but never
# refusing anything: a header rule on every request and a rate limit never hit (issue:
# within 5% of plain greenlb's W1 CPU per request).
GATEWAY_LISTENER = """
  [listener.rate_limit]
  requests_per_second = 10000000
  burst = 10000000
"""
GATEWAY_ROUTE = """
  [[listener.route]]
  upstream = "small"
  request_headers = { set = { "X-Env" = "bench" } }
"""


def greenlb_config(work, port, ups, gateway=False):
    admin = free_port()
    text = f"""
[global]
workers = 1                    # one hub: one worker, like nbthread 1 / worker_processes 1

[admin]
listen = "127.0.0.1:{admin}"   # metrics stay on (they are always counted; this serves them)

[access_log]
path = "off"                   # HAProxy and nginx log nothing either

[[listener]]
name = "bench"
listen = "127.0.0.1:{port}"
upstream = "small"
  [listener.timeouts]
  client_idle = "600s"         # idle-memory phase keeps connections for minutes
  [[listener.route]]
  path_prefix = "/big"
  upstream = "big"
  [[listener.route]]
  path_prefix = "/grpc."
  upstream = "grpc"
"""
    if gateway:
        text = text.replace("  [listener.timeouts]", GATEWAY_LISTENER + "  [listener.timeouts]")
        text += GATEWAY_ROUTE
    for name, up_port, protocol in [("small", ups.small_port, "http1"),
                                     ("big", ups.big_port, "http1"),
                                     ("grpc", ups.grpc_port, "http2")]:
        text += f"""
[[upstream]]
name = "{name}"
protocol = "{protocol}"
endpoints = ["127.0.0.1:{up_port}"]
  [upstream.pool]
  max_idle_per_endpoint = 2000 # >= the client connection count (W4: 1,000), like nginx keepalive
  idle_timeout = "600s"
"""
    path = work / "greenlb.toml"
    path.write_text(text)
    return path, admin


def haproxy_config(work, port, ups, h2=False):
    text = f"""
global
  nbthread 1                   # one worker thread
  no strict-limits             # it asks for 2*maxconn fds; the hard limit here is 20,000:
                               # warn and run with 20,000 rather than refuse to start
  maxconn 19500                # the idle phase holds 19,000 clients; also high enough that
                               # the idle upstream pool is kept (idle conns are dropped
                               # above tune.pool-high-fd-ratio of maxsock)
defaults
  mode http
  timeout connect 1s
  timeout client 600s
  timeout server 15s
  timeout http-keep-alive 600s # idle-memory phase keeps connections for minutes
  option http-keep-alive       # keep-alive on both sides (the default, said explicitly)
  http-reuse always            # share idle upstream connections between clients, like a pool
  option forwardfor            # same header work as greenlb: X-Forwarded-For, ...
frontend bench
  bind 127.0.0.1:{port}{" proto h2" if h2 else ""}
  http-request set-header X-Forwarded-Proto http
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  unique-id-format %{{+X}}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
  unique-id-header X-Request-Id  # ... a request id sent upstream ...
  http-after-response set-header X-Request-Id %[unique-id]  # ... and returned
  use_backend big if {{ path_beg /big }}
  use_backend grpc if {{ path_beg /grpc. }}
  default_backend small
backend small
  server s1 127.0.0.1:{ups.small_port} pool-purge-delay 600s
backend big
  server s1 127.0.0.1:{ups.big_port} pool-purge-delay 600s
backend grpc
  server s1 127.0.0.1:{ups.grpc_port} proto h2 pool-purge-delay 600s
"""
    path = work / "haproxy.cfg"
    path.write_text(text)
    return path


def nginx_config(work, port, ups, h2=False):
    loc = """
      proxy_http_version 1.1;          # keep-alive to the upstream needs 1.1 ...
      proxy_set_header Connection "";  # ... and no "Connection: close"
      proxy_set_header Host $host;     # same header work as greenlb: Host kept,
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Request-Id $request_id;  # a request id sent upstream ...
      add_header X-Request-Id $request_id always;  # ... and returned
"""
    ups_blocks = ""
    for name, up_port in [("small", ups.small_port), ("big", ups.big_port),
                          ("grpc_up", ups.grpc_port)]:
        ups_blocks += f"""
  upstream {name} {{
    server 127.0.0.1:{up_port};
    keepalive 2000;                # idle pooled connections >= client connections (W4: 1,000)
    keepalive_requests 1000000000; # never retire a pooled connection during the run
    keepalive_timeout 600s;
  }}"""
    text = f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
master_process off;                # the one process is the worker: what /proc, perf and
                                   # valgrind look at (worker_processes 1 otherwise)
worker_processes 1;
worker_rlimit_nofile 20000;
pid {work}/nginx_proxy.pid;
error_log {work}/nginx_proxy.err warn;
events {{ worker_connections 30000; }}  # the idle phase holds 19,000 clients (fds stop at
                                        # 20,000; below ~19,900 nginx starts closing idle ones)
http {{
  access_log off;
  keepalive_timeout 600s;          # idle-memory phase keeps connections for minutes
  keepalive_requests 1000000000;   # wrk's connections are never retired
  {ups_blocks}
  server {{
    listen 127.0.0.1:{port}{" http2" if h2 else ""} backlog=4096;
    location /big {{ proxy_pass http://big; {loc} }}
    location /grpc. {{
      grpc_pass grpc://grpc_up;
      grpc_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      grpc_set_header X-Request-Id $request_id;
    }}
    location / {{ proxy_pass http://small; {loc} }}
  }}
}}
"""
    path = work / "nginx_proxy.conf"
    path.write_text(text)
    return path


class Proxy:
    """One proxy process, fresh, pinned to CPU 0; optionally under callgrind."""

    def __init__(self, system, work, ups, greenlb_bin, callgrind=False, h2=False):
        self.system = system
        self.port = free_port()
        self.admin = None
        d = work / system
        d.mkdir(exist_ok=True)
        if system in ("greenlb", "greenlb-gw"):
            conf, self.admin = greenlb_config(d, self.port, ups, gateway=system == "greenlb-gw")
            args = [greenlb_bin, "-c", str(conf)]
        elif system == "haproxy":
            args = ["haproxy", "-db", "-f", str(haproxy_config(d, self.port, ups, h2))]
        else:
            args = ["nginx", "-c", str(nginx_config(d, self.port, ups, h2)), "-p", str(d)]
        self.callgrind_out = None
        if callgrind:
            self.callgrind_out = d / "callgrind.out"
            args = ["valgrind", "--tool=callgrind", "--trace-children=no",
                    f"--callgrind-out-file={self.callgrind_out}.%p",
                    "--collect-systime=no", "--dump-line=no"] + args
        self.proc = Proc(args, PROXY_CPU, d / ("callgrind.log" if callgrind else "proxy.log"))
        try:
            wait_port(self.port, timeout=120 if callgrind else 30, proc=self.proc.popen)
        except Exception as e:
            self.proc.stop()
            raise RuntimeError(f"{system} did not start: {e}\n" + self.proc.log_text()) from e

    @property
    def pid(self):
        return self.proc.pid

    def cpu_ticks(self):
        fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)

    def rss_kib(self):
        for line in open(f"/proc/{self.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def greenlb_requests_metric(self):
        _, body = http_get(self.admin, "/metrics")
        return sum(float(l.rsplit(" ", 1)[1]) for l in body.decode().splitlines()
                   if l.startswith("greenlb_requests_total{"))

    def stop(self):
        self.proc.stop()


# --------------------------------------------------------------------------------------
# load

WRK_SCRIPT = """
local extra = os.getenv("BENCH_HEADERS") or ""
for h in string.gmatch(extra, "[^|]+") do
  local k, v = string.match(h, "^([^:]+):%s*(.*)$")
  wrk.headers[k] = v
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


class Wrk:
    """wrk on CPU 1 against a port, in the background."""

    def __init__(self, work, port, workload, seconds, timeout="5s"):
        path, conns, headers = WORKLOADS[workload]
        script = work / "report.lua"
        if not script.exists():
            script.write_text(WRK_SCRIPT)
        env = dict(os.environ, BENCH_HEADERS="|".join(headers))
        self.popen = subprocess.Popen(
            ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s",
             f"--timeout={timeout}", "-s", str(script), f"http://127.0.0.1:{port}{path}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    def result(self):
        out, _ = self.popen.communicate(timeout=900)
        for line in out.splitlines():
            if line.startswith("WRKJSON "):
                return json.loads(line[len("WRKJSON "):])
        raise RuntimeError("wrk gave no result:\n" + out)


class H2load:
    """h2load on CPU 1 (h2c with prior knowledge), in the background: the same result shape
    as Wrk (no latency percentiles: h2load reports none)."""

    def __init__(self, work, port, workload, seconds, timeout="5s"):
        path, conns, headers = WORKLOADS[workload]
        args = ["taskset", "-c", LOAD_CPU, "h2load", "-t1", f"-c{conns}", f"-m{H2_STREAMS}",
                f"-D{max(1, round(seconds))}"]
        for h in headers:
            args += ["-H", h]
        if workload == "G1":
            body = work / "grpc_body.bin"
            body.write_bytes(GRPC_BODY)
            args += ["-d", str(body)]
        self.popen = subprocess.Popen(args + [f"http://127.0.0.1:{port}{path}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def result(self):
        out, _ = self.popen.communicate(timeout=900)
        m = re.search(r"finished in ([\d.]+)s", out)
        r = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                      r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
        codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
        if not (m and r and codes):
            raise RuntimeError("h2load gave no result:\n" + out)
        done = int(r.group(3))
        return {"requests": done, "duration_us": float(m.group(1)) * 1e6,
                "connect": 0, "read": int(r.group(6)), "write": 0, "timeout": int(r.group(7)),
                "status": int(codes.group(3)) + int(codes.group(4)) + int(r.group(5)),
                "p50_us": None, "p99_us": None}


def load_for(work, port, workload, seconds, timeout="5s"):
    cls = H2load if workload in H2_WORKLOADS else Wrk
    return cls(work, port, workload, seconds, timeout)


def run_wrk(work, port, workload, seconds, timeout="5s"):
    return load_for(work, port, workload, seconds, timeout).result()


# --------------------------------------------------------------------------------------
# a quiet machine

def wait_quiet(timeout=60.0):
    """Waits for the 1-minute load average to drop under MAX_LOADAVG; returns it."""
    deadline = time.monotonic() + timeout
    load = os.getloadavg()[0]
    while load >= MAX_LOADAVG and time.monotonic() < deadline:
        time.sleep(2)
        load = os.getloadavg()[0]
    return load


def process_table():
    """{pid: (ppid, utime+stime ticks)} of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return out


def others_cpu(before, after, ours, seconds):
    """CPU (in CPUs) used over the window by processes that are not `ours` nor their
    descendants (nor this script)."""
    mine = set(ours) | {os.getpid()}
    changed = True
    while changed:  # descendants
        changed = False
        for pid, (ppid, _) in after.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                changed = True
    used = 0
    for pid, (_, ticks) in after.items():
        if pid in mine:
            continue
        used += ticks - before.get(pid, (0, 0))[1] if pid in before else 0
    return used / CLK_TCK / max(seconds, 0.001)


def perf_stat(pid, events, seconds):
    """Counts of `events` in the process over `seconds` (all its threads)."""
    r = subprocess.run(["perf", "stat", "-x,", "-e", ",".join(events), "-p", str(pid), "--",
                        "sleep", str(seconds)], capture_output=True, text=True, timeout=300)
    counts = {}
    for line in r.stderr.splitlines():
        parts = line.split(",")
        if len(parts) >= 3 and parts[2] in events:
            counts[parts[2]] = float(parts[0]) if parts[0][:1].isdigit() else None
    return counts


def callgrind_control(pid, flag):
    subprocess.run(["callgrind_control", flag, str(pid)], capture_output=True, timeout=120,
                   check=True)


def callgrind_total(out_prefix, pid):
    """Ir of the last dump (callgrind_control -d writes OUT.PID.N)."""
    dumps = sorted(out_prefix.parent.glob(f"{out_prefix.name}.{pid}.*"),
                   key=lambda p: int(p.name.rsplit(".", 1)[1]))
    for line in dumps[-1].read_text().splitlines():
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dumps[-1]}")


def measure(system, workload, work, ups, args, has_pmu):
    """One fresh proxy: the measured window, then a short counting pass."""
    target = None
    res = {"system": system, "workload": workload}
    proxy = None
    if system == "direct":
        path = WORKLOADS[workload][0]
        port = ups.big_port if path == "/big" else ups.small_port
    else:
        proxy = Proxy(system, work, ups, args.greenlb, h2=workload in H2_WORKLOADS)
        port = proxy.port
    try:
        run_wrk(work, port, workload, args.warmup)
        res["loadavg"] = wait_quiet()
        ours = ups.pids() + ([proxy.pid] if proxy else [])
        table0, started = process_table(), time.monotonic()
        t0 = proxy.cpu_ticks() if proxy else 0
        w = run_wrk(work, port, workload, args.seconds)
        t1 = proxy.cpu_ticks() if proxy else 0
        res["others_cpu"] = others_cpu(table0, process_table(), ours, time.monotonic() - started)
        res["loaded"] = res["loadavg"] >= MAX_LOADAVG or res["others_cpu"] > MAX_OTHER_CPU
        if res["loaded"]:
            log(f"LOADED MACHINE during {system} {workload}: load average {res['loadavg']:.2f}, "
                f"other processes {res['others_cpu'] * 100:.0f}% of a CPU: this run's figures "
                "are not comparable")
        reqs = max(w["requests"], 1)
        res.update(rps=w["requests"] / (w["duration_us"] / 1e6),
                   p50_ms=w["p50_us"] / 1000 if w["p50_us"] is not None else None,
                   p99_ms=w["p99_us"] / 1000 if w["p99_us"] is not None else None,
                   requests=w["requests"],
                   errors=w["connect"] + w["read"] + w["write"] + w["timeout"],
                   non2xx=w["status"])
        if proxy:
            res["cpu_us"] = (t1 - t0) * 1e6 / CLK_TCK / reqs
            # the short counting pass: perf attaches while wrk runs; requests counted at
            # the upstreams over the same interval
            events = ["raw_syscalls:sys_enter"] + (["instructions"] if has_pmu else [])
            load = load_for(work, port, workload, args.count_seconds + 2)
            time.sleep(1)
            u0 = ups.requests()
            counts = perf_stat(proxy.pid, events, args.count_seconds)
            u1 = ups.requests()
            load.result()
            n = max(u1 - u0, 1)
            res["syscalls"] = counts.get("raw_syscalls:sys_enter", 0) / n
            if has_pmu and counts.get("instructions"):
                res["instr"] = counts["instructions"] / n
                res["instr_method"] = "perf"
            if system.startswith("greenlb"):
                # metrics on and counting: every request wrk saw is in greenlb_requests_total
                res["metric_requests"] = proxy.greenlb_requests_metric()
    finally:
        if proxy:
            proxy.stop()
    if system != "direct" and not has_pmu and not args.no_callgrind:
        res["instr"] = callgrind_instr(system, workload, work, ups, args)
        res["instr_method"] = "callgrind (user space)"
    return res


def callgrind_instr(system, workload, work, ups, args):
    """User-space instructions per request, the proxy under callgrind, steady state."""
    proxy = Proxy(system, work, ups, args.greenlb, callgrind=True, h2=workload in H2_WORKLOADS)
    try:
        load = load_for(work, proxy.port, workload, args.cg_settle + args.cg_seconds + 3,
                   timeout="30s")
        time.sleep(args.cg_settle)  # connections made, caches and pools warm
        u0 = ups.requests()
        callgrind_control(proxy.pid, "-z")
        time.sleep(args.cg_seconds)
        callgrind_control(proxy.pid, "-d")
        u1 = ups.requests()
        load.result()
        return callgrind_total(proxy.callgrind_out, proxy.pid) / max(u1 - u0, 1)
    finally:
        proxy.stop()


# --------------------------------------------------------------------------------------
# idle connections


def idle_client_main(port, path):
    """A client process: opens sockets on command, one request each, keeps them open.
    stdin: "open N" -> "ok TOTAL"; "check" -> "ok SERVED"; EOF -> exit."""
    socks = []
    req = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()

    def exchange(s):
        s.sendall(req)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
        need = int(m.group(1)) if m else 0
        while len(body) < need:
            chunk = s.recv(65536)
            if not chunk:
                return False
            body += chunk
        return head.startswith(b"HTTP/1.1 200")

    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "open":
            ok = 0
            for _ in range(int(cmd[1])):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                ok += exchange(s)
                socks.append(s)
            print(f"ok {len(socks)} {ok}", flush=True)
        elif cmd[0] == "check":
            print(f"ok {sum(exchange(s) for s in socks)}", flush=True)


class IdleClients:
    def __init__(self, port):
        self.port = port
        self.procs = []

    def open(self, n):
        """n more connections, spread over processes; returns how many answered 200."""
        served = 0
        while n > 0:
            if not self.procs or self.procs[-1][1] >= IDLE_CLIENT_MAX:
                p = subprocess.Popen(["taskset", "-c", LOAD_CPU, sys.executable, __file__,
                                      "--idle-client", str(self.port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                self.procs.append([p, 0])
            entry = self.procs[-1]
            k = min(n, IDLE_CLIENT_MAX - entry[1])
            entry[0].stdin.write(f"open {k}\n")
            entry[0].stdin.flush()
            served += int(entry[0].stdout.readline().split()[2])
            entry[1] += k
            n -= k
        return served

    def check(self):
        served = 0
        for p, _ in self.procs:
            p.stdin.write("check\n")
            p.stdin.flush()
        for p, _ in self.procs:
            served += int(p.stdout.readline().split()[1])
        return served

    def close(self):
        for p, _ in self.procs:
            p.stdin.close()
            p.wait(timeout=60)


def settled_rss(proxy):
    """RSS once it stops moving (the proxy finishes the last exchanges and frees)."""
    last = proxy.rss_kib()
    for _ in range(20):
        time.sleep(0.25)
        now = proxy.rss_kib()
        if now == last:
            return now
        last = now
    return last


def idle_memory(system, work, ups, args):
    first, most = args.idle_conns, args.max_conns
    proxy = Proxy(system, work, ups, args.greenlb)
    clients = IdleClients(proxy.port)
    try:
        run_wrk(work, proxy.port, "W1", 1)  # warm: pools, first stacks, code paths
        time.sleep(0.5)
        base = settled_rss(proxy)
        served_first = clients.open(first)
        at_first = settled_rss(proxy)
        served_most = served_first + clients.open(most - first)
        at_most = settled_rss(proxy)
        served_again = clients.check()
        slope = (at_most - at_first) / (most - first)
        res = {"system": system, "baseline_kib": base, "conns_first": first,
               "rss_first_kib": at_first, "kib_per_conn": (at_first - base) / first,
               "conns_most": most, "rss_most_kib": at_most,
               "kib_per_conn_slope": slope,
               "served": served_most, "served_again": served_again,
               "rss_100k_mib_extrapolated": (at_most + slope * (100000 - most)) / 1024}
        log(system, "idle", json.dumps(res))
        return res
    finally:
        clients.close()
        proxy.stop()


# --------------------------------------------------------------------------------------
# report


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


METRICS = [("rps", "req/s", "{:.0f}"), ("p50_ms", "p50 ms", "{:.2f}"),
           ("p99_ms", "p99 ms", "{:.2f}"), ("cpu_us", "CPU µs/req", "{:.1f}"),
           ("syscalls", "syscalls/req", "{:.2f}"), ("instr", "instr/req", "{:.0f}")]


def summarise(runs, systems):
    """Per workload and system: medians of each figure and of its ratio to HAProxy taken
    within the same repetition."""
    out = {}
    for wl in WORKLOADS:
        out[wl] = {}
        for system in systems + ["direct"]:
            rs = [r for r in runs if r["workload"] == wl and r["system"] == system]
            if not rs:
                continue
            row = {m: median([r.get(m) for r in rs]) for m, _, _ in METRICS}
            row["loaded_runs"] = sum(1 for r in rs if r.get("loaded"))
            for m, _, _ in METRICS:
                ratios = []
                for r in rs:
                    base = [b for b in runs if b["workload"] == wl and b["system"] == "haproxy"
                            and b["rep"] == r["rep"]]
                    if base and r.get(m) is not None and base[0].get(m):
                        ratios.append(r[m] / base[0][m])
                row[m + "_vs_haproxy"] = median(ratios)
                if ratios:
                    row[m + "_vs_haproxy_spread"] = [min(ratios), max(ratios)]
            out[wl][system] = row
    return out


def markdown(summary, idle, meta):
    lines = [f"Run {meta['date']} on {meta['machine']}; {meta['reps']} repetition(s), "
             f"{meta['seconds']}s windows; instructions by {meta['instr_method']}.", "",
             "| workload | proxy | " + " | ".join(h for _, h, _ in METRICS) + " |",
             "|---|---|" + "---:|" * len(METRICS)]
    for wl, rows in summary.items():
        for system, row in rows.items():
            cells = []
            for m, _, fmt in METRICS:
                v, ratio = row.get(m), row.get(m + "_vs_haproxy")
                spread = row.get(m + "_vs_haproxy_spread")
                if v is None:
                    cells.append("")
                elif ratio is not None and system not in ("haproxy", "direct"):
                    cell = fmt.format(v) + f" ({ratio:.2f}x"
                    if spread and meta["reps"] > 1:
                        cell += f", {spread[0]:.2f}-{spread[1]:.2f}"
                    cells.append(cell + ")")
                else:
                    cells.append(fmt.format(v))
            mark = " **LOADED**" if row.get("loaded_runs") else ""
            lines.append(f"| {wl} | {system}{mark} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Ratios in parentheses: to HAProxy in the same repetition, median over "
                 "repetitions (and their min-max). direct = wrk straight at the upstream (the "
                 "ceiling). H1/H2/G1: h2load, 16 connections x 32 streams (no latency "
                 "percentiles).")
    loaded = [f"{wl}/{s}" for wl, rows in summary.items() for s, row in rows.items()
              if row.get("loaded_runs")]
    if loaded:
        lines += ["", "**WARNING: the machine was not quiet during " + ", ".join(loaded) +
                  f" (load average >= {MAX_LOADAVG} before, or other processes above "
                  f"{MAX_OTHER_CPU * 100:.0f}% of a CPU during the window). These ratios are "
                  "not comparable with a quiet machine's.**"]
    if idle:
        lines += ["", "| proxy | KiB per idle conn (first N) | KiB per conn (slope to max) | "
                  "conns held | served again | RSS at max MiB | RSS at 100k MiB (extrapolated) |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in idle:
            if "error" in r:
                lines.append(f"| {r['system']} | error: {r['error']} | | | | | |")
                continue
            lines.append(
                f"| {r['system']} | {r['kib_per_conn']:.2f} ({r['conns_first']}) | "
                f"{r['kib_per_conn_slope']:.2f} | {r['conns_most']} | {r['served_again']} | "
                f"{r['rss_most_kib'] / 1024:.1f} | {r['rss_100k_mib_extrapolated']:.0f} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--idle-client":
        return idle_client_main(int(sys.argv[2]), "/")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, short "
                    "windows, 500/1,000 idle connections")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10, help="measured window per run")
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--count-seconds", type=float, default=3,
                    help="perf stat window of the counting pass")
    ap.add_argument("--cg-settle", type=float, default=4,
                    help="callgrind pass: seconds of load before counting")
    ap.add_argument("--cg-seconds", type=float, default=6, help="callgrind counting window")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--max-conns", type=int, default=19000)
    ap.add_argument("--no-idle", action="store_true")
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--greenlb", default=str(ROOT / "build-rel" / "greenlb"))
    ap.add_argument("--out", default=str(ROOT / "build-bench"))
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds, args.warmup, args.count_seconds = 1, 2, 0.5, 1
        args.cg_settle, args.cg_seconds = 3, 2
        args.idle_conns, args.max_conns = 500, 1000
    systems = args.systems.split(",")
    workloads = args.workloads.split(",")
    if not os.access(args.greenlb, os.X_OK):
        sys.exit(f"no greenlb binary at {args.greenlb} (build Release: cmake -S . -B build-rel "
                 "-DCMAKE_BUILD_TYPE=Release && cmake --build build-rel --target greenlb)")
    if not args.no_install:
        ensure_packages()
    if os.cpu_count() < 2:
        sys.exit("needs 2 CPUs: the proxy on CPU 0, the load on CPU 1")
    has_pmu = perf_has_instructions()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="greenlb-bench-"))
    os.chmod(work, 0o755)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_description(), "reps": args.reps, "seconds": args.seconds,
            "instr_method": "perf stat" if has_pmu else
            ("callgrind, user space only (no PMU in this VM)" if not args.no_callgrind
             else "none"),
            "versions": {"haproxy": version_of(["haproxy", "-v"]),
                         "nginx": version_of(["nginx", "-v"]),
                         "wrk": version_of(["wrk", "-v"]),
                         "greenlb": version_of([args.greenlb, "--version"])}}
    log("machine:", meta["machine"], "| instructions by", meta["instr_method"])
    ups = Upstreams(work)
    runs, idle = [], []
    try:
        for rep in range(args.reps):
            order = systems[rep % len(systems):] + systems[:rep % len(systems)]
            for wl in workloads:
                for system in (["direct"] if wl in ("W1", "W2") else []) + order:
                    r = measure(system, wl, work, ups, args, has_pmu)
                    r["rep"] = rep
                    runs.append(r)
                    log(f"rep {rep} {wl} {system}:", json.dumps(
                        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}))
        if not args.no_idle:
            for system in systems:
                try:
                    idle.append(idle_memory(system, work, ups, args))
                except Exception as e:  # one proxy failing here must not lose the rest
                    log(system, "idle phase failed:", repr(e))
                    idle.append({"system": system, "error": repr(e)[:200]})
    finally:
        ups.stop()
    summary = summarise(runs, systems)
    (out / "results.json").write_text(json.dumps(
        {"meta": meta, "summary": summary, "idle": idle, "runs": runs}, indent=1))
    md = markdown(summary, idle, meta)
    (out / "results.md").write_text(md)
    print(md)
    shutil.rmtree(work, ignore_errors=True)
    bad = [r for r in runs if r.get("errors") or r.get("non2xx")]
    for r in bad:
        log("run with errors:", r["system"], r["workload"], r.get("errors"), r.get("non2xx"))
    return 1 if bad or any("error" in r for r in idle) else 0


if __name__ == "__main__":
    sys.exit(main())
