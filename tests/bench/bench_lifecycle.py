#!/usr/bin/env python3
"""Lifecycle and exposition costs of the real binary (issues 6 and 7), printed, not asserted:

  - /metrics scrape time (text and OpenMetrics) and size with N endpoints;
  - reload time (POST /reload, answered once every hub runs the new generation) with N
    endpoints, for an unchanged file and for one that rebuilds every upstream;
  - requests lost across 20 reloads under load (tests/integration asserts it is 0).

Run from the build dir:
  GREENLB_BIN=$PWD/greenlb PYTHONPATH=../tests/support /usr/bin/python3 ../tests/bench/bench_lifecycle.py
"""
import statistics
import sys
import time

from greenlb_testlib import Greenlb, LoadRun, Upstream, free_port, http_get

SIZES = [int(n) for n in sys.argv[1:]] or [10, 100, 1000, 5000]


def config(n, port, admin, weight=1):
    # Endpoints nobody connects to (no traffic goes to "big"): only their series count.
    endpoints = ", ".join(f'{{ address = "127.0.{i // 250}.{i % 250 + 1}:9", weight = {weight} }}'
                          for i in range(n))
    return f"""
[global]
workers = 2
[admin]
listen = "127.0.0.1:{admin}"
allow_reload = true
[access_log]
path = "off"
[[listener]]
name = "web"
listen = "127.0.0.1:{port}"
upstream = "big"
[[upstream]]
name = "big"
endpoints = [{endpoints}]
"""


def timed(fn, runs):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def main():
    print("endpoints  scrape_text_ms  scrape_om_ms  bytes  reload_same_ms  reload_rebuild_ms")
    for n in SIZES:
        port, admin = free_port(), free_port()
        with Greenlb(config(n, port, admin)) as lb:
            size = len(lb.admin_get("/metrics")[2])
            text = timed(lambda: lb.admin_get("/metrics"), 10)
            om = timed(lambda: lb.admin_get(
                "/metrics", headers={"Accept": "application/openmetrics-text"}), 10)

            def reload(weight):
                lb.path.write_text(config(n, port, admin, weight))
                status = http_get(admin, "/reload", method="POST", timeout=60)[0]
                assert status == 200

            same = timed(lambda: reload(1), 5)
            flip = [1]

            def rebuild():
                flip[0] = 3 - flip[0]  # 1 <-> 2: every upstream's definition changes
                reload(flip[0])

            rebuilt = timed(rebuild, 5)
            print(f"{n:9d}  {text:14.2f}  {om:12.2f}  {size:5d}  {same:14.2f}  {rebuilt:17.2f}")
            assert lb.stop() == 0

    with Upstream("a") as a, Upstream("b") as b:
        port, admin = free_port(), free_port()
        base = f"""
[global]
workers = 2
[admin]
listen = "127.0.0.1:{admin}"
allow_reload = true
[access_log]
path = "off"
[[listener]]
name = "web"
listen = "127.0.0.1:{port}"
upstream = "a"
  [[listener.route]]
  path_prefix = "/r/"
  upstream = "ROUTE"
[[upstream]]
name = "a"
endpoints = ["{a.address}"]
[[upstream]]
name = "b"
endpoints = ["{b.address}"]
"""
        with Greenlb(base.replace("ROUTE", "a")) as lb:
            load = LoadRun(port, path="/r/x", threads=8, per_connection=25).start()
            time.sleep(0.3)
            for i in range(20):
                lb.reload(base.replace("ROUTE", "b" if i % 2 == 0 else "a"))
                time.sleep(0.05)
            load.stop()
            s = load.summary()
            lost = sum(v for k, v in s.items() if k != "ok")
            print(f"20 reloads under load: {s['ok']} requests ok, {lost} lost ({s})")
            assert lb.stop() == 0


if __name__ == "__main__":
    main()
