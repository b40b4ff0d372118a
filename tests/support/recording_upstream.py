"""A recording upstream for the smuggling tests: a raw-socket HTTP/1.1 server in a thread of
the test process that keeps exactly the bytes each connection delivered and reads them with
its own strict framing (Content-Length or chunked, never both), so a request the proxy let
through in a different shape than it parsed it shows up as an extra, malformed or
desynchronised request here.

    with RecordingUpstream() as up:
        ...                        # point greenlb at up.address
        up.requests()              # [Request(conn, method, target, headers, body, complete)]
        up.errors()                # framing this parser refused: a desync on the proxy side

Every complete request is answered `200` with the body `ok`; the connection stays open
(keep-alive) unless the request said otherwise. A test that scripts the answers instead
passes `handler(sock, req, index)` (`index`: the request's number on its connection, from
1), which writes whatever bytes it likes on `sock` (a well-formed response, a broken one,
nothing) and returns True to read the next request on the connection, False to close it.
"""
import re
import socket
import threading
from dataclasses import dataclass, field

_REQUEST_LINE = re.compile(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP/1\.1$")
_FIELD = re.compile(rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$")
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"


class Desync(Exception):
    pass


@dataclass
class Request:
    conn: int                     # index of the upstream connection that carried it
    method: bytes = b""
    target: bytes = b""
    headers: list = field(default_factory=list)
    body: bytes = b""
    complete: bool = False        # head and whole body arrived


@dataclass
class Connection:
    index: int
    raw: bytearray = field(default_factory=bytearray)
    closed: bool = False          # the proxy closed (or reset) it


def ok(body=b"ok", extra=b""):
    """A keep-alive 200 with `body` (and raw header lines `extra`), for handlers."""
    return (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)) + extra + b"\r\n" + body


class RecordingUpstream:
    def __init__(self, handler=None):
        self._handler = handler
        self._lock = threading.Lock()
        self._connections = []
        self._requests = []
        self._errors = []
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._stopping = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    # --- what was seen ---
    def requests(self, method=None):
        with self._lock:
            return [r for r in self._requests if method is None or r.method == method]

    def errors(self):
        with self._lock:
            return list(self._errors)

    def connection(self, index):
        with self._lock:
            return self._connections[index]

    # --- server ---
    def _accept_loop(self):
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                conn = Connection(len(self._connections))
                self._connections.append(conn)
            threading.Thread(target=self._serve, args=(sock, conn), daemon=True).start()

    def _serve(self, sock, conn):
        reader = _Reader(sock, conn)
        index = 0
        try:
            while True:
                req = Request(conn.index)
                if not reader.wait_data():
                    return  # closed between requests: fine
                with self._lock:
                    self._requests.append(req)
                self._read_request(reader, req)
                with self._lock:
                    req.complete = True
                index += 1
                if self._handler is not None:
                    if not self._handler(sock, req, index):
                        return
                    continue
                sock.sendall(_RESPONSE)
                if any(n.lower() == b"connection" and b"close" in v.lower() for n, v in req.headers):
                    return
        except Desync as e:
            with self._lock:
                self._errors.append(f"connection {conn.index}: {e}")
        except (EOFError, OSError):
            pass  # closed mid-request: the request stays incomplete
        finally:
            with self._lock:
                conn.closed = True
            sock.close()

    def _read_request(self, reader, req):
        head = reader.read_until(b"\r\n\r\n", limit=65536)
        lines = head[:-4].split(b"\r\n")
        m = _REQUEST_LINE.match(lines[0])
        if not m:
            raise Desync(f"bad request line {lines[0][:80]!r}")
        req.method, req.target = m.group(1), m.group(2)
        for line in lines[1:]:
            f = _FIELD.match(line)
            if not f or b"\r" in line or b"\n" in line or b"\0" in line:
                raise Desync(f"bad header line {line[:80]!r}")
            req.headers.append((f.group(1), f.group(2)))
        names = [n.lower() for n, _ in req.headers]
        cl = [v for n, v in req.headers if n.lower() == b"content-length"]
        te = [v for n, v in req.headers if n.lower() == b"transfer-encoding"]
        if names.count(b"host") != 1:
            raise Desync(f"{names.count(b'host')} Host headers")
        if cl and te or len(cl) > 1 or len(te) > 1:
            raise Desync(f"ambiguous framing: CL {cl} TE {te}")
        if te:
            if te[0] != b"chunked":
                raise Desync(f"transfer-encoding {te[0]!r}")
            req.body = self._read_chunked(reader)
        elif cl:
            if not cl[0].isdigit():
                raise Desync(f"content-length {cl[0]!r}")
            req.body = reader.read_exact(int(cl[0]))

    @staticmethod
    def _read_chunked(reader):
        body = bytearray()
        while True:
            line = reader.read_until(b"\r\n", limit=8192)[:-2]
            size = line.split(b";", 1)[0].rstrip(b" \t")  # BWS before chunk-ext
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size):
                raise Desync(f"chunk size {line[:40]!r}")
            n = int(size, 16)
            if n == 0:
                while reader.read_until(b"\r\n", limit=8192) != b"\r\n":
                    pass  # trailer fields
                return bytes(body)
            body += reader.read_exact(n)
            if reader.read_exact(2) != b"\r\n":
                raise Desync("no CRLF after chunk data")

    def stop(self):
        self._listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class _Reader:
    """Buffered reads off one socket, recording every byte into the connection's `raw`."""

    def __init__(self, sock, conn):
        self.sock = sock
        self.conn = conn
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.conn.raw += data
        self.buf += data

    def wait_data(self):
        try:
            if not self.buf:
                self._fill()
            return True
        except (EOFError, OSError):
            return False

    def read_until(self, marker, limit):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise Desync(f"no {marker!r} within {limit} bytes")
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = bytes(self.buf[:i]), self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = bytes(self.buf[:n]), self.buf[n:]
        return out
