"""gRPC end to end (docs/grpc.md): python3-grpcio clients and two real gRPC backends through
greenlb, with HTTP/2 upstreams, calls balanced one by one."""
import json
import queue
import signal
import subprocess
import threading
import time

import grpc
import pytest

from greenlb_testlib import Greenlb, GrpcBackend, basic_config, free_port, wait_until
from tls_certs import CertAuthority

OPTIONS = [("grpc.max_receive_message_length", 16 << 20),
           ("grpc.max_send_message_length", 16 << 20)]


def grpc_config(backends, upstream_extra="", workers=1):
    text, port, _ = basic_config([b.address for b in backends], workers=workers,
                                 upstream_extra='protocol = "http2"\n' + upstream_extra)
    return text, port


@pytest.fixture(scope="module")
def env():
    with GrpcBackend("b1") as b1, GrpcBackend("b2") as b2:
        text, port = grpc_config([b1, b2])
        with Greenlb(text) as lb:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=OPTIONS)
            yield lb, port, channel, b1, b2
            channel.close()


def unary(channel, method="/test.Echo/Unary"):
    return channel.unary_unary(method)


def test_unary_calls_on_one_channel_are_balanced_per_call(env):
    lb, port, channel, b1, b2 = env
    answers = [unary(channel)(b"x", timeout=5) for _ in range(100)]
    by = {n: sum(1 for a in answers if a.startswith(n)) for n in (b"b1:", b"b2:")}
    # One channel, one HTTP/2 connection to greenlb: round robin per call, not per connection.
    assert by == {b"b1:": 50, b"b2:": 50}
    lb.wait_requests_finished(100, listener="web")
    assert lb.metric("greenlb_grpc_requests_total", listener="web", upstream="app",
                     grpc_status="0") >= 100


def test_server_streaming_client_streaming_and_bidi(env):
    lb, port, channel, b1, b2 = env
    got = list(channel.unary_stream("/test.Echo/ServerStream")(b"1000", timeout=20))
    assert got == [b"%d" % i for i in range(1000)]
    answer = channel.stream_unary("/test.Echo/ClientStream")(iter([b"y" * 1000] * 200), timeout=20)
    assert answer == b"200,200000"
    # Bidirectional: 100 real round trips, each message sent only after the last answer.
    outbox = queue.Queue()
    call = channel.stream_stream("/test.Echo/Bidi")(iter(outbox.get, None), timeout=30)
    outbox.put(b"m0")
    replies = []
    for reply in call:
        replies.append(reply)
        if len(replies) == 100:
            outbox.put(None)
        else:
            outbox.put(b"m%d" % len(replies))
    assert len(replies) == 100 and replies[0].endswith(b":m0") and replies[99].endswith(b":m99")


def test_a_4_mib_message_both_ways(env):
    lb, port, channel, b1, b2 = env
    big = bytes(range(256)) * (16 * 1024)  # 4 MiB
    answer = unary(channel)(big, timeout=30)
    assert answer[3:] == big


def test_metadata_and_trailers_pass_both_ways(env):
    lb, port, channel, b1, b2 = env
    answer, call = unary(channel).with_call(b"m", metadata=(("x-echo", "hello"),), timeout=5)
    initial = dict(call.initial_metadata())
    trailing = dict(call.trailing_metadata())
    assert initial["x-echo"] == "hello"
    assert "x-request-id" in initial
    assert trailing["x-trailer"] == answer[:2].decode()


@pytest.mark.parametrize("code", ["NOT_FOUND", "INVALID_ARGUMENT"])
def test_error_statuses_and_details_pass_through(env, code):
    lb, port, channel, b1, b2 = env
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "/test.Echo/Fail")(code.encode(), timeout=5)
    assert e.value.code() == getattr(grpc.StatusCode, code)
    assert e.value.details() == "failed by request"


def test_deadline_exceeded_and_the_backend_sees_the_cancellation(env):
    lb, port, channel, b1, b2 = env
    before = b1.stats()["cancelled"] + b2.stats()["cancelled"]
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        unary(channel, "/test.Echo/Sleep")(b"5000", timeout=0.5)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 3
    wait_until(lambda: b1.stats()["cancelled"] + b2.stats()["cancelled"] > before, timeout=5,
               what="the backend to see the call cancelled")


def test_greenlb_enforces_grpc_timeout_itself():
    """grpc-timeout bounds the call in greenlb: a client that sends a deadline but waits
    longer (raw h2, no client-side timer) gets DEADLINE_EXCEEDED from greenlb, and the
    backend's call is cancelled."""
    from h2_client import H2Client
    with GrpcBackend("b") as b:
        text, port = grpc_config([b])
        with Greenlb(text) as lb:
            with H2Client(port) as client:
                sid = client.request("POST", "/test.Echo/Sleep",
                                     body=b"\x00\x00\x00\x00\x044000",
                                     headers=[("content-type", "application/grpc"),
                                              ("te", "trailers"), ("grpc-timeout", "300m")])
                status, headers, body, trailers = client.response(sid, timeout=10)
            assert status == 200
            assert {**headers, **trailers}["grpc-status"] == "4"
            wait_until(lambda: b.stats()["cancelled"] >= 1, timeout=5,
                       what="the backend to see the call cancelled")
            lb.wait_requests_finished(1, listener="web")
            assert lb.metric("greenlb_grpc_requests_total", grpc_status="4") == 1


def test_client_cancel_mid_call_reaches_the_backend(env):
    lb, port, channel, b1, b2 = env
    before = b1.stats()["cancelled"] + b2.stats()["cancelled"]
    future = unary(channel, "/test.Echo/Sleep").future(b"5000", timeout=10)
    time.sleep(0.3)
    future.cancel()
    wait_until(lambda: b1.stats()["cancelled"] + b2.stats()["cancelled"] > before, timeout=5,
               what="the backend to see the cancellation")


def test_backend_down_is_unavailable_promptly():
    dead = f"127.0.0.1:{free_port()}"
    text, port, _ = basic_config([dead], upstream_extra='protocol = "http2"\n')
    with Greenlb(text) as lb:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            start = time.monotonic()
            with pytest.raises(grpc.RpcError) as e:
                unary(channel)(b"x", timeout=10)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
            assert time.monotonic() - start < 5


def test_health_check_passes_through_and_the_grpc_check_marks_not_serving_down():
    with GrpcBackend("h1") as h1, GrpcBackend("h2") as h2:
        text, port = grpc_config([h1, h2], upstream_extra="""
  [upstream.health]
  grpc_service = ""
  interval = "200ms"
  timeout = "1s"
  rise = 1
  fall = 1
""")
        with Greenlb(text) as lb:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                # The health service itself, called through greenlb.
                assert unary(channel, "/grpc.health.v1.Health/Check")(b"", timeout=5) == b"\x08\x01"
                h2.set_health(False)
                wait_until(lambda: lb.metric("greenlb_upstream_endpoint_up", upstream="app",
                                             endpoint=h2.address) == 0, timeout=10,
                           what="the NOT_SERVING endpoint to go down")
                answers = [unary(channel)(b"x", timeout=5) for _ in range(20)]
                assert all(a.startswith(b"h1:") for a in answers)
                status = lb.status()
                eps = {e["address"]: e for e in status["upstreams"][0]["endpoints"]}
                assert "NOT_SERVING" in json.dumps(eps[h2.address])
                h2.set_health(True)
                wait_until(lambda: lb.metric("greenlb_upstream_endpoint_up", upstream="app",
                                             endpoint=h2.address) == 1, timeout=10,
                           what="the endpoint to come back")


def test_http1_client_to_http2_upstream_with_curl(env):
    lb, port, channel, b1, b2 = env
    message = b"\x00\x00\x00\x00\x05hello"
    r = subprocess.run(["curl", "-sS", "--http1.1", "-i", "--raw", "-H", "content-type: application/grpc",
                        "-H", "te: trailers", "--data-binary", "@-",
                        f"http://127.0.0.1:{port}/test.Echo/Unary"],
                       input=message, capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith(b"HTTP/1.1 200"), out[:200]
    assert b"Transfer-Encoding: chunked" in out
    assert b":hello" in out
    assert b"grpc-status: 0" in out  # the upstream's trailers, as chunked trailers


def test_h2_to_h2_with_nghttp(env, tmp_path):
    lb, port, channel, b1, b2 = env
    (tmp_path / "msg").write_bytes(b"\x00\x00\x00\x00\x02hi")
    r = subprocess.run(["nghttp", "-v", "-H", "content-type: application/grpc", "-H", "te: trailers",
                        "-d", str(tmp_path / "msg"), f"http://127.0.0.1:{port}/test.Echo/Unary"],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert b"grpc-status: 0" in r.stdout and b":hi" in r.stdout


def load(channel, stop, results, method="/test.Echo/Unary", request=b"x"):
    call = channel.unary_unary(method)
    while not stop.is_set():
        try:
            call(request, timeout=10)
            results.append("ok")
        except grpc.RpcError as e:
            results.append((e.code(), e.details()))


def test_a_backend_going_away_gracefully_under_load_fails_no_call():
    with GrpcBackend("g1") as g1, GrpcBackend("g2") as g2:
        text, port = grpc_config([g1, g2])
        with Greenlb(text) as lb:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            stop, results = threading.Event(), []
            threads = [threading.Thread(target=load, args=(channel, stop, results)) for _ in range(8)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            g1.proc.send_signal(signal.SIGTERM)  # GOAWAY, then it finishes and exits
            g1.proc.wait(timeout=15)
            time.sleep(0.5)
            stop.set()
            for t in threads:
                t.join(timeout=20)
            channel.close()
            # No call fails on greenlb's side: a stream the backend did not process before its
            # GOAWAY, and the refused connects after it, are retried on the other backend.
            # What grpcio's server itself answers to calls that reach it while it shuts down
            # passes through as its own answer, as it would to a direct client: those are
            # HTTP 200 with the server's grpc-message, never a status greenlb made.
            failures = [r for r in results if r != "ok"]
            assert len(results) > 100
            backend_said = {"CANCELLED", "Cancelling all calls"}
            assert all(details in backend_said for _, details in failures), failures[:5]
            lb.wait_requests_finished(len(results), listener="web")
            for code in ("502", "503", "504"):
                assert lb.metric("greenlb_requests_total", listener="web", code=code) == 0


def test_a_backend_killed_under_load_fails_only_its_calls_in_flight_as_unavailable():
    with GrpcBackend("k1") as k1, GrpcBackend("k2") as k2:
        text, port = grpc_config([k1, k2])
        with Greenlb(text) as lb:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            stop, results = threading.Event(), []
            workers = 8
            threads = [threading.Thread(target=load, args=(channel, stop, results,
                                                           "/test.Echo/Sleep", b"50"))
                       for _ in range(workers)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            k1.stop()  # SIGKILL: its calls in flight are lost
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join(timeout=20)
            channel.close()
            failures = [r for r in results if r != "ok"]
            # At most the calls in flight on it (each worker has one call at a time).
            assert len(failures) <= workers, failures
            assert {code for code, _ in failures} <= {grpc.StatusCode.UNAVAILABLE}, failures
            assert results.count("ok") > 50


def test_tls_upstream_by_alpn(tmp_path):
    ca = CertAuthority(tmp_path)
    cert, key = ca.issue("b", "grpc.internal", dns=["grpc.internal"], ips=["127.0.0.1"])
    with GrpcBackend("tls", args=["--tls-cert", cert, "--tls-key", key]) as b:
        text, port = grpc_config([b], upstream_extra=f"""
  [upstream.tls]
  ca = "{ca.cert}"
  sni = "grpc.internal"
""")
        with Greenlb(text) as lb:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                assert unary(channel)(b"s", timeout=5) == b"tls:s"
