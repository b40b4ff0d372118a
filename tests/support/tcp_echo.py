#!/usr/bin/env python3
"""A plain TCP echo server for the tcp listener tests: tcp_echo.py PORT (prints "ready")."""
import asyncio
import sys


async def handle(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
