#!/usr/bin/env python3
"""A WebSocket echo server (Debian's python3-websockets) for the tunnel tests.

    websocket_echo.py PORT     prints "ready" once listening; echoes every message.
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)


async def main(port):
    async with websockets.serve(echo, "127.0.0.1", port, max_size=None):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
