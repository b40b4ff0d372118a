#!/usr/bin/python3
"""greenlb vs HAProxy 2.6 (vs nginx) terminating TLS, side by side, one worker each.

    tests/bench/tls_compare.sh [--quick] [--reps N] [--out DIR] [--greenlb PATH]

The TLS counterpart of compare.py, built from its pieces (imported, not copied): the same
plaintext nginx upstreams with keep-alive pooling behind every proxy, the same proxy
configurations with only the listener turned into TLS, the same pinning (proxy on CPU 0,
wrk and the upstreams on CPU 1), a fresh proxy per run, the proxy order rotated per
repetition, ratios to HAProxy taken within a repetition and then the median.

One throwaway CA and one ECDSA P-256 server certificate (openssl CLI) serve all proxies.
wrk speaks TLS 1.3 (its OpenSSL's default, no ALPN, no verification).

Workloads:
  T1  keep-alive HTTPS, small body, 64 connections (handshakes only at the start)
  T2  a new TLS connection per request (Connection: close), 64 at a time, FULL handshakes
  T3  the same with session resumption (TLS 1.3 PSK with (EC)DHE, from the session ticket
      of the connection before)

wrk reuses its SSL objects across reconnects (SSL_shutdown + SSL_clear), which keeps the
session, so it resumes whenever the server issued a ticket. tls_wrk_shim.c, preloaded
into wrk, counts every finished handshake as full or resumed when wrk clears it, and for
T2 drops the session so the next handshake is full. Each run reports the fraction
resumed; T2 must be 0 and T3 close to 1, otherwise the run is flagged.

Figures per run: rps, p50/p99 (wrk), proxy_cpu (the proxy's CPU use over the window, 1.0 =
its one core busy: below that, the client was the bottleneck), cpu_us (utime+stime per
request), per_core (requests per second of proxy CPU: what one saturated core would
serve; with one vCPU for wrk's side of every handshake, T2 and T3 are client-bound on a
2-vCPU machine, so this, not rps, compares the proxies there), syscalls and instructions per request over a separate short pass, counted at the
upstreams (compare.py's method: perf where the CPU has counters, callgrind in user space
otherwise).

Output: OUT/tls_results.json and OUT/tls_results.md (default OUT: build-bench/).
"""
import argparse
import datetime
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import compare as C  # noqa: E402  (the plaintext benchmark: processes, load, counting)

SYSTEMS = ["greenlb", "haproxy", "nginx"]
WORKLOADS = {
    # name: (connections, extra wrk headers, resumption allowed)
    "T1": (64, [], True),
    "T2": (64, ["Connection: close"], False),
    "T3": (64, ["Connection: close"], True),
}
SHIM = pathlib.Path(__file__).resolve().parent / "tls_wrk_shim.c"
log = C.log


# --------------------------------------------------------------------------------------
# certificate


def make_certificate(work):
    """A throwaway CA and a P-256 leaf for bench.test / 127.0.0.1 it signed: cert and key
    files, and the two concatenated (HAProxy's crt)."""
    d = work / "tls"
    d.mkdir()

    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    p256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    ssl("genpkey", *p256, "-out", "ca.key")
    ssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=greenlb bench CA",
        "-days", "2", "-out", "ca.crt")
    ssl("genpkey", *p256, "-out", "server.key")
    ssl("req", "-new", "-key", "server.key", "-subj", "/CN=bench.test", "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=DNS:bench.test,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")
    pem = d / "server.pem"
    pem.write_text((d / "server.crt").read_text() + (d / "server.key").read_text())
    return {"cert": d / "server.crt", "key": d / "server.key", "pem": pem, "ca": d / "ca.crt"}


# --------------------------------------------------------------------------------------
# the proxies: compare.py's configurations, listener made TLS, nothing else changed.
# compare.Proxy calls these module functions by name; replacing them makes its Proxy
# (including the callgrind variant) start the TLS configurations.

CERT = {}
_plain = {"greenlb": C.greenlb_config, "haproxy": C.haproxy_config, "nginx": C.nginx_config}


def _replace_once(text, old, new):
    if text.count(old) != 1:
        raise RuntimeError(f"compare.py's configuration changed: {old!r} not found once")
    return text.replace(old, new)


def tls_greenlb_config(work, port, ups):
    path, admin = _plain["greenlb"](work, port, ups)
    path.write_text(_replace_once(path.read_text(), "  [listener.timeouts]\n", f"""\
  [listener.tls]
  certificates = [{{ cert = "{CERT['cert']}", key = "{CERT['key']}" }}]
  [listener.timeouts]
"""))
    return path, admin


def tls_haproxy_config(work, port, ups):
    path = _plain["haproxy"](work, port, ups)
    text = _replace_once(path.read_text(), f"  bind 127.0.0.1:{port}\n",
                         f"  bind 127.0.0.1:{port} ssl crt {CERT['pem']} alpn http/1.1\n")
    text = _replace_once(text, "set-header X-Forwarded-Proto http\n",
                         "set-header X-Forwarded-Proto https\n")
    # greenlb's TLS 1.2 defaults, for a client that would not speak 1.3 (wrk does)
    text = _replace_once(text, "global\n", """global
  ssl-default-bind-options ssl-min-ver TLSv1.2
  ssl-default-bind-ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305
""")
    path.write_text(text)
    return path


def tls_nginx_config(work, port, ups):
    path = _plain["nginx"](work, port, ups)
    path.write_text(_replace_once(
        path.read_text(), f"listen 127.0.0.1:{port} backlog=4096;\n",
        f"listen 127.0.0.1:{port} ssl backlog=4096;\n"
        f"    ssl_certificate {CERT['cert']};\n"
        f"    ssl_certificate_key {CERT['key']};\n"
        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        "    ssl_session_tickets on;   # its default; resumption by ticket like the others\n"))
    return path


C.greenlb_config, C.haproxy_config, C.nginx_config = \
    tls_greenlb_config, tls_haproxy_config, tls_nginx_config


# --------------------------------------------------------------------------------------
# load: wrk over https with the shim preloaded


def build_shim(work):
    lib = work / "tls_wrk_shim.so"
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(lib), str(SHIM), "-ldl"],
                   check=True)
    return lib


class TlsWrk:
    """wrk on CPU 1 against the proxy's TLS port, in the background."""

    def __init__(self, work, port, workload, seconds, timeout="5s"):
        conns, headers, resume = WORKLOADS[workload]
        script = work / "report.lua"
        if not script.exists():
            script.write_text(C.WRK_SCRIPT)
        env = dict(os.environ, BENCH_HEADERS="|".join(headers),
                   LD_PRELOAD=str(work / "tls_wrk_shim.so"))
        if not resume:
            env["TLSBENCH_NO_RESUME"] = "1"
        self.popen = subprocess.Popen(
            ["taskset", "-c", C.LOAD_CPU, "wrk", "-t1", f"-c{conns}",
             f"-d{max(1, round(seconds))}s", f"--timeout={timeout}", "-s", str(script),
             f"https://127.0.0.1:{port}/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    def result(self):
        out, _ = self.popen.communicate(timeout=900)
        res = None
        for line in out.splitlines():
            if line.startswith("WRKJSON "):
                res = json.loads(line[len("WRKJSON "):])
            elif line.startswith("TLSSHIM "):
                shim = dict(kv.split("=") for kv in line.split()[1:])
                shim = {k: int(v) for k, v in shim.items()}
        if res is None:
            raise RuntimeError("wrk gave no result:\n" + out)
        res.update(shim)
        return res


def run_wrk(work, port, workload, seconds, timeout="5s"):
    return TlsWrk(work, port, workload, seconds, timeout).result()


# --------------------------------------------------------------------------------------
# one run


def measure(system, workload, work, ups, args, has_pmu):
    """A fresh proxy: the measured window, then a short counting pass (compare.measure's
    shape, over TLS)."""
    res = {"system": system, "workload": workload}
    proxy = C.Proxy(system, work, ups, args.greenlb)
    try:
        run_wrk(work, proxy.port, workload, args.warmup)
        t0, c0 = time.monotonic(), proxy.cpu_ticks()
        w = run_wrk(work, proxy.port, workload, args.seconds)
        t1, c1 = time.monotonic(), proxy.cpu_ticks()
        reqs = max(w["requests"], 1)
        handshakes = w["full"] + w["resumed"]
        res.update(rps=w["requests"] / (w["duration_us"] / 1e6), p50_ms=w["p50_us"] / 1000,
                   p99_ms=w["p99_us"] / 1000, requests=w["requests"],
                   errors=w["connect"] + w["read"] + w["write"] + w["timeout"],
                   non2xx=w["status"], handshakes_full=w["full"],
                   handshakes_resumed=w["resumed"],
                   resumed=w["resumed"] / handshakes if handshakes else None,
                   cpu_us=(c1 - c0) * 1e6 / C.CLK_TCK / reqs,
                   per_core=w["requests"] / max((c1 - c0) / C.CLK_TCK, 1e-9),
                   proxy_cpu=(c1 - c0) / C.CLK_TCK / (t1 - t0))
        events = ["raw_syscalls:sys_enter"] + (["instructions"] if has_pmu else [])
        load = TlsWrk(work, proxy.port, workload, args.count_seconds + 2)
        time.sleep(1)
        u0 = ups.requests()
        counts = C.perf_stat(proxy.pid, events, args.count_seconds)
        u1 = ups.requests()
        load.result()
        n = max(u1 - u0, 1)
        res["syscalls"] = counts.get("raw_syscalls:sys_enter", 0) / n
        if has_pmu and counts.get("instructions"):
            res["instr"] = counts["instructions"] / n
            res["instr_method"] = "perf"
    finally:
        proxy.stop()
    if not has_pmu and not args.no_callgrind:
        res["instr"] = callgrind_instr(system, workload, work, ups, args)
        res["instr_method"] = "callgrind (user space)"
    return res


def callgrind_instr(system, workload, work, ups, args):
    """User-space instructions per request, the proxy under callgrind, steady state."""
    proxy = C.Proxy(system, work, ups, args.greenlb, callgrind=True)
    try:
        load = TlsWrk(work, proxy.port, workload, args.cg_settle + args.cg_seconds + 3,
                      timeout="30s")
        time.sleep(args.cg_settle)
        u0 = ups.requests()
        C.callgrind_control(proxy.pid, "-z")
        time.sleep(args.cg_seconds)
        C.callgrind_control(proxy.pid, "-d")
        u1 = ups.requests()
        load.result()
        return C.callgrind_total(proxy.callgrind_out, proxy.pid) / max(u1 - u0, 1)
    finally:
        proxy.stop()


def negotiated(port):
    """What a default OpenSSL client (wrk's library) gets: version, suite, group."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief"],
                       input="", capture_output=True, text=True, timeout=30)
    keep = ("Protocol version", "Ciphersuite", "Peer signature type", "Server Temp Key",
            "Negotiated TLS1.3 group")
    return "; ".join(l.strip() for l in r.stderr.splitlines() if l.strip().startswith(keep))


# --------------------------------------------------------------------------------------
# report

METRICS = [("rps", "req/s", "{:.0f}"), ("p50_ms", "p50 ms", "{:.2f}"),
           ("p99_ms", "p99 ms", "{:.2f}"), ("proxy_cpu", "proxy CPU", "{:.2f}"),
           ("cpu_us", "CPU µs/req", "{:.1f}"), ("per_core", "req/s per core", "{:.0f}"),
           ("syscalls", "syscalls/req", "{:.2f}"),
           ("instr", "instr/req", "{:.0f}")]


def summarise(runs, systems):
    saved = C.WORKLOADS, C.METRICS
    C.WORKLOADS, C.METRICS = WORKLOADS, METRICS + [("resumed", "resumed", "{:.2f}")]
    try:
        return C.summarise(runs, systems)
    finally:
        C.WORKLOADS, C.METRICS = saved


def markdown(summary, meta):
    saved = C.METRICS
    C.METRICS = METRICS
    try:
        text = C.markdown(summary, [], meta)
    finally:
        C.METRICS = saved
    resumed = ", ".join(f"{wl} {s} {rows[s]['resumed']:.2f}" for wl, rows in summary.items()
                        for s in rows if rows[s].get("resumed") is not None and wl != "T1")
    return (text.replace(" direct = wrk straight at the upstream (the ceiling).", "") +
            f"\nTLS: {meta['negotiated']}. Fraction of handshakes resumed: {resumed}.\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 repetition, short windows")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10, help="measured window per run")
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--count-seconds", type=float, default=3)
    ap.add_argument("--cg-settle", type=float, default=4)
    ap.add_argument("--cg-seconds", type=float, default=6)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--no-install", action="store_true")
    ap.add_argument("--greenlb", default=str(C.ROOT / "build-rel" / "greenlb"))
    ap.add_argument("--out", default=str(C.ROOT / "build-bench"))
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds, args.warmup, args.count_seconds = 1, 2, 0.5, 1
        args.cg_settle, args.cg_seconds = 3, 2
    systems = args.systems.split(",")
    workloads = args.workloads.split(",")
    if not os.access(args.greenlb, os.X_OK):
        sys.exit(f"no greenlb binary at {args.greenlb}")
    if not args.no_install:
        C.ensure_packages()
    if os.cpu_count() < 2:
        sys.exit("needs 2 CPUs: the proxy on CPU 0, the load on CPU 1")
    has_pmu = C.perf_has_instructions()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="greenlb-tlsbench-"))
    os.chmod(work, 0o755)
    CERT.update(make_certificate(work))
    for f in work.joinpath("tls").iterdir():
        os.chmod(f, 0o644)  # nginx's `user root` aside, a proxy may run as another user
    build_shim(work)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": C.machine_description(), "reps": args.reps, "seconds": args.seconds,
            "instr_method": "perf stat" if has_pmu else
            ("callgrind, user space only (no PMU in this VM)" if not args.no_callgrind
             else "none"),
            "versions": {"haproxy": C.version_of(["haproxy", "-v"]),
                         "nginx": C.version_of(["nginx", "-v"]),
                         "openssl": C.version_of(["openssl", "version"]),
                         "wrk": C.version_of(["wrk", "-v"]),
                         "greenlb": C.version_of([args.greenlb, "--version"])}}
    log("machine:", meta["machine"], "| instructions by", meta["instr_method"])
    ups = C.Upstreams(work)
    runs = []
    try:
        neg = {}
        for system in systems:
            p = C.Proxy(system, work, ups, args.greenlb)
            try:
                neg[system] = negotiated(p.port)
            finally:
                p.stop()
        meta["negotiated"] = "; ".join(f"{s}: {v}" for s, v in neg.items())
        log("negotiated:", meta["negotiated"])
        for rep in range(args.reps):
            order = systems[rep % len(systems):] + systems[:rep % len(systems)]
            for wl in workloads:
                for system in order:
                    r = measure(system, wl, work, ups, args, has_pmu)
                    r["rep"] = rep
                    runs.append(r)
                    log(f"rep {rep} {wl} {system}:", json.dumps(
                        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}))
    finally:
        ups.stop()
    summary = summarise(runs, systems)
    (out / "tls_results.json").write_text(json.dumps(
        {"meta": meta, "summary": summary, "runs": runs}, indent=1))
    md = markdown(summary, meta)
    (out / "tls_results.md").write_text(md)
    print(md)
    shutil.rmtree(work, ignore_errors=True)
    bad = [r for r in runs if r.get("errors") or r.get("non2xx")
           or (r["workload"] == "T2" and r["handshakes_resumed"])
           or (r["workload"] == "T3" and (r["resumed"] or 0) < 0.9)]
    for r in bad:
        log("run with errors or the wrong handshakes:", r["system"], r["workload"],
            r.get("errors"), r.get("non2xx"), r.get("resumed"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
