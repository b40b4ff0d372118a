#!/usr/bin/env python3
"""A real HTTP/1.1 upstream for the integration tests (asyncio + h11, Debian's python3-h11).

Run as its own process: upstream_server.py --port P [--host IP] --name NAME
[--mode normal|stuck] [--idle-close SECONDS]. Prints "ready" once it listens.

Paths:
  /                 200, body "NAME\n"            /headers   the request headers as JSON
  /echo             the request body back (?chunked=1: as a chunked response)
  /slow?ms=N        answers after N ms            /status/N  answers status N
  /big?bytes=N      N bytes of body (?chunked=1: chunked)
  /sink             reads the whole body, answers its size
  /close            answers with Connection: close
  /healthz          200, or 503 after /_health/down (until /_health/up)
  /_fail/N          from now on every other request gets status N (after any delay);
                    /_fail/0 stops it. /healthz and /_ paths are not affected
  /_delay/MS        from now on every other request waits MS ms first (0: none)
  /_stats           {"connections": accepted ones that carried traffic (not only /_ control
                    requests such as this one), "requests": served, "open": open now}
  /_requests        every request seen: [[method, target, [[name, value]...], body_len], ...]
Modes: stuck = accept and read, never answer.
TLS: --tls-cert/--tls-key serve HTTPS; --tls-client-ca also requires a client certificate
signed by that CA, whose subject CN comes back in an X-Client-CN response header.
"""
import argparse
import asyncio
import json
import ssl
import sys
import urllib.parse

import h11

state = {"connections": 0, "requests": 0, "open": 0, "healthy": True, "log": [], "fail": 0,
         "delay_ms": 0}


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--name", default="upstream")
    p.add_argument("--mode", default="normal", choices=["normal", "stuck"])
    p.add_argument("--idle-close", type=float, default=0.0,
                   help="close keep-alive connections idle this long (0 = never)")
    p.add_argument("--tls-cert", help="serve TLS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the certificate's key (PEM)")
    p.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    return p.parse_args()


async def send_response(writer, conn, status, body=b"", headers=(), chunked=False, close=False):
    hdrs = [(b"X-Upstream", ARGS.name.encode())] + list(headers)
    peer = writer.get_extra_info("peercert")
    if peer:
        cn = [v for rdn in peer.get("subject", ()) for (k, v) in rdn if k == "commonName"]
        if cn:
            hdrs.append((b"X-Client-CN", cn[0].encode()))
    if status in (204, 304) or status < 200:
        body, chunked = b"", False  # these never have a body
    if close:
        hdrs.append((b"Connection", b"close"))
    if chunked:
        hdrs.append((b"Transfer-Encoding", b"chunked"))
    elif status not in (204, 304) and status >= 200:
        hdrs.append((b"Content-Length", str(len(body)).encode()))
    writer.write(conn.send(h11.Response(status_code=status, headers=hdrs)))
    if chunked:
        step = 4096
        for i in range(0, len(body), step):
            writer.write(conn.send(h11.Data(data=body[i:i + step])))
            await writer.drain()
    elif body:
        writer.write(conn.send(h11.Data(data=body)))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()


async def stream_big(writer, conn, n, chunked):
    hdrs = [(b"X-Upstream", ARGS.name.encode())]
    hdrs.append((b"Transfer-Encoding", b"chunked") if chunked else (b"Content-Length", str(n).encode()))
    writer.write(conn.send(h11.Response(status_code=200, headers=hdrs)))
    block = b"x" * 65536
    left = n
    while left > 0:
        piece = block[:min(left, len(block))]
        writer.write(conn.send(h11.Data(data=piece)))
        left -= len(piece)
        await writer.drain()
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()


async def next_event(conn, reader, timeout):
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await asyncio.wait_for(reader.read(65536), timeout) if timeout else await reader.read(65536)
            conn.receive_data(data)
            continue
        return event


async def handle(reader, writer):
    state["open"] += 1
    counted = False  # a test's own /_stats connection must not change what it reads
    try:
        if ARGS.mode == "stuck":
            state["connections"] += 1
            while await reader.read(65536):
                pass
            return
        conn = h11.Connection(h11.SERVER)
        while True:
            try:
                idle = ARGS.idle_close if ARGS.idle_close > 0 and conn.our_state is h11.IDLE else None
                event = await next_event(conn, reader, idle)
            except asyncio.TimeoutError:
                return  # idle keep-alive connection: close it
            if isinstance(event, (h11.ConnectionClosed,)) or event is h11.PAUSED:
                return
            if not isinstance(event, h11.Request):
                return
            body = bytearray()
            sunk = 0
            target = event.target.decode()
            url = urllib.parse.urlsplit(target)
            query = urllib.parse.parse_qs(url.query)
            sink_only = url.path == "/sink"
            while True:
                ev = await next_event(conn, reader, None)
                if isinstance(ev, h11.Data):
                    if sink_only:
                        sunk += len(ev.data)  # counted, not kept
                    else:
                        body.extend(ev.data)
                elif isinstance(ev, h11.EndOfMessage):
                    break
                else:
                    return
            path = url.path
            headers = [[k.decode(), v.decode()] for k, v in event.headers]
            if not path.startswith("/_"):  # control requests are not traffic
                if not counted:
                    counted = True
                    state["connections"] += 1
                state["requests"] += 1
                state["log"].append([event.method.decode(), target, headers, len(body)])
            traffic = not path.startswith("/_") and path != "/healthz"
            if traffic and state["delay_ms"]:
                await asyncio.sleep(state["delay_ms"] / 1000)
            if traffic and state["fail"]:
                await send_response(writer, conn, state["fail"], (ARGS.name + "\n").encode())
            elif path.startswith("/_fail/"):
                state["fail"] = int(path[7:])
                await send_response(writer, conn, 200, b"done\n")
            elif path.startswith("/_delay/"):
                state["delay_ms"] = int(path[8:])
                await send_response(writer, conn, 200, b"done\n")
            elif path == "/headers":
                await send_response(writer, conn, 200, json.dumps(headers).encode(),
                                    [(b"Content-Type", b"application/json")])
            elif path == "/echo":
                await send_response(writer, conn, 200, bytes(body), chunked="chunked" in query)
            elif path == "/slow":
                await asyncio.sleep(int(query.get("ms", ["1000"])[0]) / 1000)
                await send_response(writer, conn, 200, (ARGS.name + "\n").encode())
            elif path.startswith("/status/"):
                await send_response(writer, conn, int(path[8:]), (ARGS.name + "\n").encode())
            elif path == "/big":
                await stream_big(writer, conn, int(query.get("bytes", ["0"])[0]), "chunked" in query)
            elif path == "/sink":
                await send_response(writer, conn, 200, str(sunk).encode())
            elif path == "/close":
                await send_response(writer, conn, 200, (ARGS.name + "\n").encode(), close=True)
                return
            elif path == "/healthz":
                ok = state["healthy"]
                await send_response(writer, conn, 200 if ok else 503, b"ok\n" if ok else b"down\n")
            elif path == "/_health/down" or path == "/_health/up":
                state["healthy"] = path.endswith("up")
                await send_response(writer, conn, 200, b"done\n")
            elif path == "/_stats":
                stats = {k: state[k] for k in ("connections", "requests", "open")}
                await send_response(writer, conn, 200, json.dumps(stats).encode())
            elif path == "/_requests":
                await send_response(writer, conn, 200, json.dumps(state["log"]).encode())
            else:
                await send_response(writer, conn, 200, (ARGS.name + "\n").encode())
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (ConnectionError, h11.RemoteProtocolError, h11.LocalProtocolError, asyncio.IncompleteReadError):
        return
    finally:
        state["open"] -= 1
        try:
            writer.close()
        except Exception:
            pass


async def main():
    tls = None
    if ARGS.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        if ARGS.tls_client_ca:
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.load_verify_locations(ARGS.tls_client_ca)
    server = await asyncio.start_server(handle, ARGS.host, ARGS.port, backlog=8192, ssl=tls)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ARGS = parse_args()
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
