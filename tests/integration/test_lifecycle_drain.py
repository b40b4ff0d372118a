"""Graceful drain on SIGTERM (issue 7, docs/operations.md#drain): /readyz turns 503 at
once, listeners keep accepting for drain_delay, kept-alive clients are told Connection:
close, requests, uploads and tunnels in flight finish, the process exits 0; a second
SIGTERM exits at once."""
import signal
import socket
import threading
import time

from greenlb_testlib import (Greenlb, LoadRun, RawHttpConnection, ReadyzWatch, ScriptServer,
                             Upstream, free_port, port_open, wait_until)

UPLOAD = 1_000_000


def drain_config(up, port, admin, tcp_port=None, echo=None, drain_delay="1s",
                 graceful_timeout="10s"):
    tcp = "" if tcp_port is None else f"""
[[listener]]
name = "db"
listen = "127.0.0.1:{tcp_port}"
protocol = "tcp"
upstream = "echo"

[[upstream]]
name = "echo"
endpoints = ["{echo.address}"]
"""
    return f"""
[global]
workers = 2
drain_delay = "{drain_delay}"
graceful_timeout = "{graceful_timeout}"

[admin]
listen = "127.0.0.1:{admin}"

[access_log]
path = "off"

[[listener]]
name = "web"
listen = "127.0.0.1:{port}"
upstream = "app"

[[upstream]]
name = "app"
endpoints = ["{up.address}"]
{tcp}"""


def slow_upload(port, result, seconds=2.0, pieces=20):
    """POST /sink whose 1 MB body trickles in over `seconds`."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=15)
        s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % UPLOAD)
        piece = UPLOAD // pieces
        for _ in range(pieces):
            s.sendall(b"u" * piece)
            time.sleep(seconds / pieces)
        conn = RawHttpConnection.__new__(RawHttpConnection)
        conn.sock, conn.buf, conn.served, conn.open = s, b"", 0, True
        result["response"] = conn.read_response()
    except Exception as e:  # reported by the assertion on `result`
        result["error"] = repr(e)


def test_sigterm_drains_under_load_and_exits_0():
    with Upstream("a") as a, ScriptServer("tcp_echo.py") as echo:
        port, admin, tcp_port = free_port(), free_port(), free_port()
        # drain_delay leaves room for the checks made while still accepting (slow under ASan).
        with Greenlb(drain_config(a, port, admin, tcp_port, echo, drain_delay="2s")) as lb:
            kept = RawHttpConnection(port)
            assert kept.request("/")[0] == 200 and kept.open
            tunnel = socket.create_connection(("127.0.0.1", tcp_port), timeout=10)
            tunnel.sendall(b"before\n")
            assert tunnel.recv(100) == b"before\n"
            slow, upload = {}, {}
            slow_thread = threading.Thread(target=lambda: slow.setdefault(
                "response", RawHttpConnection(port).request("/slow?ms=2500")))
            upload_thread = threading.Thread(target=slow_upload, args=(port, upload))
            load = LoadRun(port, path="/slow?ms=5", threads=6, per_connection=10).start()
            watch = ReadyzWatch(admin).start()
            slow_thread.start()
            upload_thread.start()
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_in_flight") >= 2,
                       what="the slow request and the upload in flight")
            time.sleep(0.2)

            sent = time.monotonic()
            lb.send_signal(signal.SIGTERM)
            wait_until(lambda: watch.first(503) is not None, timeout=5, what="/readyz 503")
            readyz_delay = watch.first(503) - sent
            # Still accepting during drain_delay: a new connection is served, told to close.
            fresh = RawHttpConnection(port)
            status, headers, body = fresh.request("/")
            assert (status, body) == (200, b"a\n")
            assert headers.get("connection") == "close" and not fresh.open
            # A kept-alive connection's next response says Connection: close.
            status, headers, _ = kept.request("/")
            assert status == 200 and headers.get("connection") == "close"
            # The tunnel still carries data.
            tunnel.sendall(b"during\n")
            assert tunnel.recv(100) == b"during\n"
            # Load stops before the listeners close (connections the kernel queued but the
            # proxy never accepted are reset when a listening socket closes).
            load.stop()
            wait_until(lambda: not port_open(port), timeout=5, what="the listener closed")
            assert not port_open(tcp_port)
            # In flight: the slow request and the upload finish; then the tunnel ends.
            slow_thread.join(timeout=10)
            upload_thread.join(timeout=10)
            assert lb.proc.poll() is None  # the tunnel is still open: not done yet
            tunnel.sendall(b"last\n")
            assert tunnel.recv(100) == b"last\n"
            tunnel.close()
            assert lb.proc.wait(timeout=10) == 0
            watch.stop()

            assert slow["response"][0] == 200 and slow["response"][2] == b"a\n"
            assert "response" in upload, upload
            assert upload["response"][0] == 200 and upload["response"][2] == str(UPLOAD).encode()
            summary = load.summary()
            print(f"/readyz 503 {readyz_delay * 1000:.1f} ms after SIGTERM; load {summary}")
            assert summary["ok"] > 0 and summary["ok"] == len(load.results), load.problems()
            # 503 came while the process still served: before the listeners closed.
            assert all(s == 200 for t, s in watch.seen if t < sent)
            log = lb.log()
            assert "drained: every connection finished" in log, log


def test_graceful_timeout_cuts_what_is_left_and_says_so():
    with Upstream("stuck", mode="stuck") as stuck:
        port, admin = free_port(), free_port()
        text = drain_config(stuck, port, admin, drain_delay="0s", graceful_timeout="1s")
        endpoints = f'endpoints = ["{stuck.address}"]'
        text = text.replace(endpoints, endpoints + '\n  [upstream.timeouts]\n  response = "1m"')
        with Greenlb(text) as lb:
            conn = RawHttpConnection(port)
            conn.sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_in_flight") == 1,
                       what="the request stuck in flight")
            assert lb.stop(timeout=15) == 0
            assert "graceful timeout: cut 1 request(s) or tunnel(s)" in lb.log(), lb.log()


def test_second_sigterm_exits_at_once():
    with Upstream("a") as a:
        port, admin = free_port(), free_port()
        with Greenlb(drain_config(a, port, admin, drain_delay="30s",
                                  graceful_timeout="30s")) as lb:
            assert RawHttpConnection(port).request("/")[0] == 200
            lb.send_signal(signal.SIGTERM)
            wait_until(lambda: not lb.ready(), timeout=5, what="/readyz 503")
            assert port_open(port)  # drain_delay: still accepting
            lb.send_signal(signal.SIGTERM)
            assert lb.proc.wait(timeout=5) == 0
            assert "second SIGTERM: exiting now" in lb.log()


def test_sigterm_repeated_after_the_drain_does_not_kill_it():
    # A supervisor may repeat its SIGTERM at any moment. During the drain it means "exit
    # now" (test above); once the drain is over, the signal fiber has ended and the
    # process is tearing down: a repeat must not turn the clean exit into "killed by
    # signal 15" (it did, most often under ASan, whose teardown is slow).
    with Upstream("a") as a:
        port, admin = free_port(), free_port()
        for _ in range(3):
            with Greenlb(drain_config(a, port, admin, drain_delay="0s")) as lb:
                assert RawHttpConnection(port).request("/")[0] == 200
                lb.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + 10
                while "drained:" not in lb.log() and time.monotonic() < deadline:
                    time.sleep(0.001)
                while lb.proc.poll() is None and time.monotonic() < deadline:
                    lb.send_signal(signal.SIGTERM)
                    time.sleep(0.001)
                assert lb.proc.wait(timeout=10) == 0, lb.log()
