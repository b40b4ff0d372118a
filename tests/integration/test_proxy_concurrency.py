"""5,000 concurrent clients served (issue 4)."""
import asyncio

from greenlb_testlib import Greenlb, Upstream, basic_config

CLIENTS = 5000


async def one(port, i, started):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started.append(i)
    writer.write(b"GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data.startswith(b"HTTP/1.1 200")


async def storm(port):
    started = []
    results = await asyncio.gather(*(one(port, i, started) for i in range(CLIENTS)),
                                   return_exceptions=True)
    return [r is True for r in results]


def test_five_thousand_concurrent_clients():
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], upstream_extra="""
  [upstream.pool]
  max_idle_per_endpoint = 16
""")
        with Greenlb(text) as lb:
            ok = asyncio.run(asyncio.wait_for(storm(port), 120))
            assert sum(ok) == CLIENTS
            served = a.stats()["requests"] + b.stats()["requests"]
            assert served == CLIENTS
            lb.wait_requests_finished(CLIENTS)
            assert lb.metric("greenlb_requests_total", listener="web", code="200") == CLIENTS
            # Every connection was closed and released.
            status = lb.status()
            assert status["open_connections"] == 0
