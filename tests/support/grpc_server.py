#!/usr/bin/env python3
"""A real gRPC backend for the integration tests (Debian's python3-grpcio), in its own
process. Messages are raw bytes (generic handlers, no generated code). Prints "ready" once
it listens. Run: grpc_server.py --port P --name NAME [--tls-cert C --tls-key K]. SIGTERM stops it
gracefully (GOAWAY; calls in flight finish).

test.Echo/Unary          answers NAME + ":" + the request; echoes metadata "x-echo" back as
                         initial metadata, sets the trailer "x-trailer: NAME"
test.Echo/ServerStream   the request is a count N: answers N messages "i"
test.Echo/ClientStream   answers the number of messages and bytes it read ("n,bytes")
test.Echo/Bidi           answers each message with NAME + ":" + the message
test.Echo/Fail           aborts with the code named by the request ("NOT_FOUND", ...) and the
                         details "failed by request"
test.Echo/Sleep          sleeps the request's milliseconds (watching for cancellation),
                         then answers "slept"
grpc.health.v1.Health/Check   SERVING, or NOT_SERVING after test.Control/SetHealth "down"
test.Control/SetHealth   "up" or "down"
test.Control/Stats       JSON: {"calls": {method: n}, "cancelled": n, "name": NAME}
"""
import argparse
import json
import signal
import threading
import time
from concurrent import futures

import grpc

state = {"calls": {}, "cancelled": 0, "healthy": True}
lock = threading.Lock()


def count(method):
    with lock:
        state["calls"][method] = state["calls"].get(method, 0) + 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", default="grpc")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()
    name = args.name.encode()

    def unary(request, context):
        count("Unary")
        echo = [(k, v) for k, v in context.invocation_metadata() if k == "x-echo"]
        if echo:
            context.send_initial_metadata(echo)
        context.set_trailing_metadata((("x-trailer", args.name),))
        return name + b":" + request

    def server_stream(request, context):
        count("ServerStream")
        for i in range(int(request)):
            yield b"%d" % i

    def client_stream(request_iterator, context):
        count("ClientStream")
        n = size = 0
        for m in request_iterator:
            n += 1
            size += len(m)
        return b"%d,%d" % (n, size)

    def bidi(request_iterator, context):
        count("Bidi")
        for m in request_iterator:
            yield name + b":" + m

    def fail(request, context):
        count("Fail")
        context.abort(getattr(grpc.StatusCode, request.decode()), "failed by request")

    def sleep(request, context):
        count("Sleep")
        deadline = time.monotonic() + int(request) / 1000
        while time.monotonic() < deadline:
            if not context.is_active():
                with lock:
                    state["cancelled"] += 1
                return b""
            time.sleep(0.01)
        return b"slept"

    def health(request, context):
        count("Health")
        return b"\x08\x01" if state["healthy"] else b"\x08\x02"

    def set_health(request, context):
        state["healthy"] = request == b"up"
        return b"ok"

    def stats(request, context):
        with lock:
            return json.dumps({**state, "name": args.name}).encode()

    u = grpc.unary_unary_rpc_method_handler
    handlers = [
        grpc.method_handlers_generic_handler("test.Echo", {
            "Unary": u(unary),
            "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
            "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
            "Fail": u(fail),
            "Sleep": u(sleep),
        }),
        grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": u(health)}),
        grpc.method_handlers_generic_handler("test.Control", {"SetHealth": u(set_health),
                                                              "Stats": u(stats)}),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), handlers=handlers,
                         options=[("grpc.max_receive_message_length", 16 << 20),
                                  ("grpc.max_send_message_length", 16 << 20)])
    address = f"127.0.0.1:{args.port}"
    if args.tls_cert:
        creds = grpc.ssl_server_credentials(
            [(open(args.tls_key, "rb").read(), open(args.tls_cert, "rb").read())])
        server.add_secure_port(address, creds)
    else:
        server.add_insecure_port(address)
    server.start()
    # SIGTERM: a graceful stop (GOAWAY, calls in flight finish within 5 s), as a pod's.
    signal.signal(signal.SIGTERM, lambda *_: server.stop(grace=5))
    print("ready", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
