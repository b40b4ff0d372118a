#!/usr/bin/python3
"""Soak test (issue 11), not run by CI: N minutes of mixed load against the real greenlb and
real upstream processes on 127.0.0.1, printing RSS, open fds, fibers and connections over
time, so a leak shows up as a drift.

    tests/soak/soak.py [--minutes 10] [--interval 15] [--bin build/greenlb]

Load, all at once for the whole run:
  - wrk (Debian's wrk) with 64 keep-alive connections over a mix of GET /, GET /big (64 KiB),
    POST /echo and GET /slow?ms=20, through three h11 upstreams;
  - 16 WebSocket clients that connect, echo 20 messages and close, over and over;
  - a SIGHUP reload every 20 s (alternating endpoint weights);
  - one upstream killed and restarted on the same port every 60 s.
Pooled upstream connections idle out after 10 s, so the idle figures at the end are
comparable with the start.
At the end the load stops, and the figures once idle are compared with those after warm-up.
Use /usr/bin/python3 (Debian's, with h11 and websockets).
"""
import argparse
import asyncio
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))
os.environ.setdefault("GREENLB_BIN", str(ROOT / "build" / "greenlb"))

WRK_SCRIPT = r"""
local paths = {"/", "/big?bytes=65536", "/slow?ms=20", "/"}
local i = 0
request = function()
  i = i + 1
  if i % 5 == 0 then
    return wrk.format("POST", "/echo", {["Content-Type"] = "text/plain"}, string.rep("p", 2048))
  end
  return wrk.format("GET", paths[(i % #paths) + 1])
end
"""


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--interval", type=float, default=15, help="seconds between samples")
    p.add_argument("--bin", default=None, help="greenlb binary (default build/greenlb)")
    return p.parse_args()


def config(ups, ws, weights, listen_port, admin_port):
    from greenlb_testlib import basic_config
    text, port, admin = basic_config([], listen_port=listen_port, admin_port=admin_port,
                                     workers=2, extra_global='max_connections = 100000')
    endpoints = ", ".join(f'{{ address = "{u.address}", weight = {w} }}'
                          for u, w in zip(ups, weights))
    text = text.replace("endpoints = []", f"endpoints = [{endpoints}]")
    route = f"""
  [[listener.route]]
  path_prefix = "/ws"
  upstream = "ws"
"""
    head, tail = text.split("[[upstream]]", 1)
    return (head + route + "\n[[upstream]]" + tail + f"""
  [upstream.retry]
  attempts = 2
  [upstream.pool]
  idle_timeout = "10s"

[[upstream]]
name = "ws"
endpoints = ["{ws.address}"]
""")


class WebSocketLoad(threading.Thread):
    def __init__(self, port, clients=16):
        super().__init__(daemon=True)
        self.port, self.clients = port, clients
        self.sessions = self.failures = 0
        self.stopping = False

    async def client(self):
        import websockets
        while not self.stopping:
            try:
                async with websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                              open_timeout=5, close_timeout=2) as ws:
                    for i in range(20):
                        await ws.send(f"m{i}")
                        if await asyncio.wait_for(ws.recv(), 5) != f"m{i}":
                            raise RuntimeError("echo mismatch")
                self.sessions += 1
            except Exception:
                self.failures += 1
                await asyncio.sleep(0.2)

    def run(self):
        async def main():
            await asyncio.gather(*(self.client() for _ in range(self.clients)))
        asyncio.run(main())


def pipe_fds(pid):
    """fds of the pipes kept for splice (up to 64 per hub in core/forward.cc: a cache)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return n


def fibers(lb):
    try:
        return sum(h["fibers"] for h in lb.status()["hubs"])
    except Exception:
        return -1


def sample(lb, start, ws):
    from greenlb_testlib import open_fds, rss_kib
    m = lb.metrics()
    get = lambda name: sum(v for (n, _), v in m.items() if n == name)
    return {
        "t": round(time.monotonic() - start),
        "rss_kib": rss_kib(lb.pid()),
        "fds": open_fds(lb.pid()),
        "fibers": fibers(lb),
        "conns": int(get("greenlb_connections_active")),
        "pooled": int(get("greenlb_upstream_pool_idle_connections")),
        "pipes": pipe_fds(lb.pid()),
        "requests": int(get("greenlb_requests_total")),
        "ws_sessions": ws.sessions,
        "ws_failures": ws.failures,
        "reloads": int(get("greenlb_config_reloads_total")),
    }


def show(s):
    print("{t:>6}s  rss {rss_kib:>7} KiB  fds {fds:>5}  fibers {fibers:>5}  conns {conns:>5}  "
          "pooled {pooled:>4}  pipe fds {pipes:>3}  "
          "requests {requests:>9}  ws {ws_sessions:>6} (failed {ws_failures})  "
          "reloads {reloads}".format(**s), flush=True)


def main():
    args = parse_args()
    # Stopped early (SIGTERM): still stop greenlb, the upstreams and wrk in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.bin:
        os.environ["GREENLB_BIN"] = os.path.abspath(args.bin)
    from greenlb_testlib import Greenlb, ScriptServer, Upstream, free_port, wait_until
    tmp = tempfile.TemporaryDirectory(prefix="greenlb-soak-")
    script = pathlib.Path(tmp.name) / "mix.lua"
    script.write_text(WRK_SCRIPT)
    ups = [Upstream(f"u{i}") for i in range(3)]
    ws_server = ScriptServer("websocket_echo.py")
    listen, admin = free_port(), free_port()
    weights = [[1, 1, 1], [3, 1, 2]]
    lb = Greenlb(config(ups, ws_server, weights[0], listen, admin))
    print(f"greenlb pid {lb.pid()} on 127.0.0.1:{listen}, {args.minutes} min", flush=True)
    seconds = int(args.minutes * 60)
    start = time.monotonic()
    wrk = subprocess.Popen(["wrk", "-t2", "-c64", f"-d{seconds}s", "-s", str(script),
                            f"http://127.0.0.1:{listen}/"], stdout=subprocess.PIPE, text=True)
    ws = WebSocketLoad(listen)
    ws.start()
    samples = []
    next_sample = next_reload = next_restart = start
    reloads = restarts = 0
    try:
        while time.monotonic() - start < seconds:
            now = time.monotonic()
            if now >= next_sample:
                samples.append(sample(lb, start, ws))
                show(samples[-1])
                next_sample += args.interval
            if now >= next_reload and now > start:
                reloads += 1
                lb.reload(config(ups, ws_server, weights[reloads % 2], listen, admin))
                next_reload += 20
            if now >= next_restart and now > start + 1:
                i = restarts % len(ups)
                restarts += 1
                port = ups[i].port
                ups[i].stop()
                ups[i] = Upstream(f"u{i}", port=port)
                next_restart += 60
            time.sleep(0.5)
        out, _ = wrk.communicate(timeout=60)
        ws.stopping = True
        ws.join(timeout=30)
        # Idle: wait for the client connections to drain and the pooled upstream ones to
        # pass their idle_timeout (10 s), then the final figures.
        wait_until(lambda: sample(lb, start, ws)["conns"] == 0, timeout=30, what="idle")
        time.sleep(15)
        final = sample(lb, start, ws)
        show(final)
        codes = {}
        for (name, labels), v in lb.metrics().items():
            if name == "greenlb_requests_total" and v:
                code = dict(labels)["code"]
                codes[code] = codes.get(code, 0) + int(v)
    finally:
        if wrk.poll() is None:
            wrk.kill()
        lb.stop()
        for u in ups:
            u.stop()
        ws_server.stop()
    print("\n--- wrk\n" + out.strip())
    warm = samples[min(2, len(samples) - 1)]  # after the first 30 s: pools and stacks warm
    peak = max(s["rss_kib"] for s in samples)
    print("\n--- summary")
    print(f"reloads {reloads}, upstream restarts {restarts}, websocket sessions {final['ws_sessions']}"
          f" (failed {final['ws_failures']})")
    print(f"RSS KiB: warm {warm['rss_kib']}, peak {peak}, idle at end {final['rss_kib']}"
          f" (drift {final['rss_kib'] - warm['rss_kib']:+d})")
    print(f"fds: start {samples[0]['fds']}, idle at end {final['fds']} ({final['pooled']} pooled "
          f"upstream connections, {final['pipes']} fds of cached splice pipes); fibers: start "
          f"{samples[0]['fibers']}, idle at end {final['fibers']}")
    print("responses by status:", ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    print(f"wrk non-2xx: {non2xx.group(1) if non2xx else 0}; socket errors: "
          f"{errors.group(1) if errors else 'none'}")


if __name__ == "__main__":
    main()
