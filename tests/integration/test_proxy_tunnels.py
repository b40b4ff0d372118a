"""Upgrade tunnels (WebSocket) and tcp listeners (issue 4, docs/proxying.md, "Tunnels")."""
import asyncio
import socket
import time

import websockets

from greenlb_testlib import Greenlb, ScriptServer, basic_config, tcp_config, wait_until


def test_websocket_echo_through_the_proxy():
    with ScriptServer("websocket_echo.py") as ws_server:
        text, port, _ = basic_config([ws_server.address])
        with Greenlb(text) as lb:
            async def talk():
                async with websockets.connect(f"ws://127.0.0.1:{port}/chat", max_size=None) as ws:
                    replies = []
                    for i in range(50):
                        await ws.send(f"message {i}")
                        replies.append(await ws.recv())
                    big = b"B" * (2 << 20)
                    await ws.send(big)
                    echoed = await ws.recv()
                    return replies, echoed == big
            replies, big_ok = asyncio.run(asyncio.wait_for(talk(), 30))
            assert replies == [f"message {i}" for i in range(50)]
            assert big_ok
            lb.wait_requests_finished(1)
            assert lb.metric("greenlb_requests_total", listener="web", code="101") == 1


def test_websocket_tunnel_idle_timeout_closes_it():
    with ScriptServer("websocket_echo.py") as ws_server:
        text, port, _ = basic_config([ws_server.address], listener_extra="""
  [listener.timeouts]
  tunnel_idle = "300ms"
""")
        with Greenlb(text) as lb:
            async def idle():
                async with websockets.connect(f"ws://127.0.0.1:{port}/", ping_interval=None) as ws:
                    await ws.send("hi")
                    assert await ws.recv() == "hi"
                    start = time.monotonic()
                    try:
                        await ws.recv()
                    except websockets.ConnectionClosed:
                        return time.monotonic() - start
            elapsed = asyncio.run(asyncio.wait_for(idle(), 10))
            assert elapsed is not None and 0.2 < elapsed < 3


def test_tcp_listener_is_an_l4_tunnel():
    # The upstream speaks first (as SMTP, MySQL, SSH do): a tcp listener connects to it at
    # accept, not when the client speaks (HTTP connections wait dormant for that).
    with ScriptServer("tcp_echo.py", args=["--banner", "220 ready"]) as echo:
        text, port = tcp_config(echo)
        with Greenlb(text) as lb:
            payload = bytes(range(256)) * 4096  # 1 MiB of every byte value
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                assert s.recv(100) == b"220 ready\r\n"  # before the client said a word
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                received = b""
                while chunk := s.recv(65536):
                    received += chunk
            assert received == payload
            # Several at once.
            socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
            for i, s in enumerate(socks):
                s.sendall(b"conn %d\n" % i)
            for i, s in enumerate(socks):
                banner = b"220 ready\r\n"
                got = b""
                while len(got) < len(banner) + len(b"conn %d\n" % i):
                    got += s.recv(100)
                assert got == banner + b"conn %d\n" % i
                s.close()


def test_tcp_tunnels_hold_max_connections_slots_and_queue_for_them():
    # A tunnel holds its endpoint slot for its whole life: with max_connections = 1 the
    # second client waits (max_pending = 1) until the first tunnel ends, the third is
    # closed at once; two workers, so the limit must hold across hubs.
    with ScriptServer("tcp_echo.py", args=["--banner", "220 ready"]) as echo:
        text, port = tcp_config(echo, workers=2, upstream_extra="""
  [upstream.timeouts]
  connect = "10s"
  [upstream.limits]
  max_connections = 1
  max_pending = 1
""")
        banner = b"220 ready\r\n"
        with Greenlb(text) as lb:
            first = socket.create_connection(("127.0.0.1", port), timeout=10)
            assert first.recv(100) == banner
            waiting = socket.create_connection(("127.0.0.1", port), timeout=10)
            wait_until(lambda: lb.status()["upstreams"][0]["pending"] == 1,
                       what="the second tunnel waiting for the slot")
            refused = socket.create_connection(("127.0.0.1", port), timeout=10)
            assert refused.recv(100) == b""  # closed: over max_pending
            assert lb.metric("greenlb_upstream_unavailable_total", upstream="echo",
                             reason="limits") == 1
            assert lb.metric("greenlb_upstream_endpoint_in_flight", upstream="echo") == 1
            first.sendall(b"one\n")
            assert first.recv(100) == b"one\n"
            first.close()
            # The slot passes to the waiting tunnel, which then talks as usual.
            assert waiting.recv(100) == banner
            waiting.sendall(b"two\n")
            assert waiting.recv(100) == b"two\n"
            assert lb.metric("greenlb_upstream_endpoint_in_flight", upstream="echo") == 1
            waiting.close()
            refused.close()
            wait_until(lambda: lb.metric("greenlb_upstream_endpoint_in_flight") == 0,
                       what="both tunnels ended")
