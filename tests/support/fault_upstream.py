"""A fault-injecting upstream for the abuse tests: a raw-socket server in a thread of the test
process whose behaviour (`mode`) can be switched between requests.

Modes (each request is read up to the end of its head first, except in no_read/blackhole):
  ok                      200 "ok", keep-alive
  reset_before_response   reads the request, then resets the connection (RST)
  close_before_response   reads the request, then closes (FIN) without a byte of response
  half_close              reads the request, shuts down its write side, keeps reading
  garbage                 answers bytes that are not HTTP, then closes
  stall                   reads the request and never answers
  reset_mid_body          200 with Content-Length 1 MiB, 64 KiB of it, then RST
  raw                     answers the bytes in `raw_response` (a tuple: its parts 50 ms
                          apart), then closes
  double_response         200 "ok", then 20 ms later an unasked second response
                          ("poisoned"), then goes on serving the connection
  no_read                 accepts and never reads (its receive buffer fills)
  blackhole               never accepts: the accept queue is full, so SYNs are dropped and
                          connects time out (the listening socket has a backlog of 0 and
                          one connection parked in it)
"""
import socket
import struct
import threading
import time

MODES = ("ok", "reset_before_response", "close_before_response", "half_close", "garbage",
         "stall", "reset_mid_body", "raw", "double_response", "no_read", "blackhole")


class FaultUpstream:
    def __init__(self, mode="ok"):
        self.mode = mode
        self.raw_response = b""
        self.connections = 0   # accepted
        self.requests = 0      # request heads read
        self._lock = threading.Lock()
        self._held = []        # sockets kept open (stall, no_read, half_close)
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        if mode == "blackhole":
            self._listener.listen(0)
            # Fill the accept queue (backlog 0 holds one) so later SYNs are dropped.
            self._parked = [socket.create_connection(("127.0.0.1", self.port))]
            return
        self._listener.listen(512)
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _accept_loop(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _hold(self, sock):
        with self._lock:
            self._held.append(sock)

    def _read_head(self, sock, buf):
        while b"\r\n\r\n" not in buf:
            data = sock.recv(65536)
            if not data:
                return None
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        with self._lock:
            self.requests += 1
        return rest

    @staticmethod
    def _reset(sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _serve(self, sock):
        mode = self.mode
        if mode == "no_read":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            self._hold(sock)
            return
        buf = b""
        try:
            while True:
                buf = self._read_head(sock, buf)
                if buf is None:
                    sock.close()
                    return
                mode = self.mode
                if mode in ("ok", "double_response"):
                    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                    if mode == "double_response":
                        time.sleep(0.02)
                        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npoisoned\n")
                    continue
                if mode == "reset_before_response":
                    self._reset(sock)
                elif mode == "close_before_response":
                    sock.close()
                elif mode == "half_close":
                    sock.shutdown(socket.SHUT_WR)
                    self._hold(sock)
                elif mode == "raw":
                    # A tuple of parts goes out as separate writes 50 ms apart (a body
                    # whose framing breaks only after the head was relayed).
                    parts = self.raw_response
                    for i, part in enumerate(parts if isinstance(parts, tuple) else (parts,)):
                        if i:
                            time.sleep(0.05)
                        sock.sendall(part)
                    sock.close()
                elif mode == "garbage":
                    sock.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02 not http\r\n\r\n")
                    sock.close()
                elif mode == "stall":
                    self._hold(sock)
                elif mode == "reset_mid_body":
                    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n" + b"x" * 65536)
                    self._reset(sock)
                return
        except OSError:
            sock.close()

    def stop(self):
        self._listener.close()
        for s in getattr(self, "_parked", []):
            s.close()
        with self._lock:
            for s in self._held:
                s.close()
            self._held.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
