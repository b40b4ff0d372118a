#!/usr/bin/env python3
"""A plain TCP echo server for the tcp listener tests: tcp_echo.py PORT [--banner TEXT]
(prints "ready"). With --banner it first sends TEXT + CRLF to every client, unasked, as
server-first protocols (SMTP, MySQL, SSH) do."""
import asyncio
import sys


async def handle(reader, writer, banner):
    try:
        if banner is not None:
            writer.write(banner.encode() + b"\r\n")
            await writer.drain()
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def main(port, banner):
    server = await asyncio.start_server(lambda r, w: handle(r, w, banner), "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[1:]
    banner = None
    if "--banner" in args:
        i = args.index("--banner")
        banner = args[i + 1]
        del args[i:i + 2]
    asyncio.run(main(int(args[0]), banner))
