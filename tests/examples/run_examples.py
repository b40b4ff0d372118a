#!/usr/bin/env python3
"""Runs the runtime's examples against real sockets: the echo server with a few clients,
the fetcher against a local HTTP server (one URL served, one refused)."""
import http.server
import socket
import subprocess
import sys
import threading

echo_bin, fetcher_bin = sys.argv[1], sys.argv[2]

# Echo server: start on an ephemeral port, echo from three concurrent clients.
server = subprocess.Popen([echo_bin, "0"], stdout=subprocess.PIPE, text=True)
try:
    line = server.stdout.readline()
    assert line.startswith("listening on 127.0.0.1:"), line
    port = int(line.rsplit(":", 1)[1])
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    for i, c in enumerate(clients):
        c.sendall(b"hello %d" % i)
    for i, c in enumerate(clients):
        want = b"hello %d" % i
        got = b""
        while len(got) < len(want):
            got += c.recv(100)
        assert got == want, (got, want)
        c.close()
    print("echo server: 3 clients echoed")
finally:
    server.terminate()
    assert server.wait(timeout=10) == 0, "echo server did not stop cleanly on SIGTERM"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"fetched " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
hp = "127.0.0.1:%d" % httpd.server_address[1]
closed = socket.socket()
closed.bind(("127.0.0.1", 0))
dead = "127.0.0.1:%d" % closed.getsockname()[1]
closed.close()
out = subprocess.run([fetcher_bin, hp + "/a", hp + "/b", "localhost:%s/c" % hp.split(":")[1], dead + "/x"],
                     capture_output=True, text=True, timeout=30)
lines = out.stdout.splitlines()
print("\n".join(lines))
assert len(lines) == 4, lines
for l in lines[:3]:
    assert l.startswith("HTTP/1.0 200 OK") or l.startswith("HTTP/1.1 200 OK"), l
assert lines[3].startswith("error: connect"), lines[3]
assert out.returncode == 1
httpd.shutdown()
print("fetcher: 3 fetched, 1 refused as expected")
