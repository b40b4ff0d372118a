#!/usr/bin/env python3
"""Holds N idle keep-alive client connections to 127.0.0.1:PORT, for the idle-connection
tests (one process can hold only so many fds, so tests start several of these).

    idle_clients.py PORT N [fresh]

Opens N connections; on each sends one GET and reads its (Content-Length) response, unless
`fresh` (then it only connects and never speaks). Prints "ready OK FAILED" and holds them
until stdin closes, then closes them all and prints "closed ALIVE", the number that were
still open (the proxy had not closed them).
"""
import selectors
import socket
import sys


def fetch(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(4096)
        if not data:
            return False
        buf += data
    head, body = buf.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        data = s.recv(4096)
        if not data:
            return False
        body += data
    return head.startswith(b"HTTP/1.1 200")


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    fresh = len(sys.argv) > 3 and sys.argv[3] == "fresh"
    socks, ok, failed = [], 0, 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if fresh or fetch(s):
                ok += 1
            else:
                failed += 1
            socks.append(s)
        except OSError:
            failed += 1
    print(f"ready {ok} {failed}", flush=True)
    sys.stdin.read()
    # Still open = not readable (a closed one reads EOF at once).
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    ready = {key.fileobj for key, _ in sel.select(timeout=0.2)}
    print(f"closed {len(socks) - len(ready)}", flush=True)
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
