"""A frame-level HTTP/2 client for the tests (Debian's python3-h2): it can send what a
well-behaved client would, and what an attacker would (malformed headers, floods, raw
frames), and it reports every event it reads, so a test can check the exact frames greenlb
answers with. Every wait is bounded.

    with H2Client(port) as c:
        sid = c.request("GET", "/")
        status, headers, body, trailers = c.response(sid)
"""
import socket
import ssl
import time

import h2.config
import h2.connection
import h2.events
import h2.settings


class H2Client:
    def __init__(self, port, tls_context=None, server_name="localhost", validate=True,
                 window=None, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls_context is not None:
            self.sock = tls_context.wrap_socket(self.sock, server_hostname=server_name)
        self.timeout = timeout
        config = h2.config.H2Configuration(client_side=True, validate_outbound_headers=validate,
                                           normalize_outbound_headers=validate,
                                           validate_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if window is not None:
            # A small window: the client decides when the server may send more.
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.events = []
        self.closed = False
        self.goaway = None  # the ConnectionTerminated event, once one came
        self.flush()

    # --- sending ---
    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, body=b"", headers=(), authority="example.test",
                end_stream=True, scheme="http"):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", scheme),
                (":authority", authority), *headers]
        self.conn.send_headers(sid, hdrs, end_stream=end_stream and not body)
        if body:
            self.conn.send_data(sid, body, end_stream=end_stream)
        self.flush()
        return sid

    def raw(self, data):
        """Bytes straight onto the connection (hand-made frames)."""
        self.sock.sendall(data)

    # --- receiving ---
    def pump(self, until, timeout=None):
        """Reads and handles frames until until(self) is true; False on timeout or close."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not until(self):
            if self.closed or time.monotonic() > deadline:
                return until(self)
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except (ConnectionResetError, ssl.SSLError, OSError):
                self.closed = True
                continue
            if not data:
                self.closed = True
                continue
            for event in self.conn.receive_data(data):
                self.events.append(event)
                if isinstance(event, h2.events.ConnectionTerminated):
                    self.goaway = event
                if isinstance(event, h2.events.DataReceived) and self.auto_ack:
                    self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                        event.stream_id)
            try:
                self.flush()
            except OSError:
                self.closed = True
        return True

    auto_ack = True

    def stream_events(self, sid):
        return [e for e in self.events if getattr(e, "stream_id", None) == sid]

    def stream_ended(self, sid):
        return any(isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
                   for e in self.stream_events(sid))

    def response(self, sid, timeout=None):
        """(status, {name: value}, body, {trailer: value}) of stream `sid`, or raises."""
        if not self.pump(lambda c: c.stream_ended(sid), timeout):
            raise TimeoutError(f"stream {sid} did not end")
        status, headers, parts, trailers = None, {}, [], {}
        for e in self.stream_events(sid):
            if isinstance(e, h2.events.ResponseReceived):
                headers = {k.decode() if isinstance(k, bytes) else k:
                           v.decode() if isinstance(v, bytes) else v for k, v in e.headers}
                status = int(headers[":status"])
            elif isinstance(e, h2.events.DataReceived):
                parts.append(e.data)
            elif isinstance(e, h2.events.TrailersReceived):
                trailers = {k.decode(): v.decode() for k, v in e.headers}
            elif isinstance(e, h2.events.StreamReset):
                raise StreamResetError(e.error_code)
        return status, headers, b"".join(parts), trailers

    def reset_code(self, sid):
        for e in self.stream_events(sid):
            if isinstance(e, h2.events.StreamReset):
                return e.error_code
        return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class StreamResetError(Exception):
    def __init__(self, code):
        super().__init__(f"stream reset with error code {code}")
        self.code = code
