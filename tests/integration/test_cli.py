"""The command line (docs/operations.md, "Command line"): version, startup errors as one
clear line, the demo."""
import signal
import socket
import subprocess
import time

from greenlb_testlib import GREENLB_BIN, Greenlb, basic_config, free_port, http_get, wait_until


def test_version_names_the_libraries():
    out = subprocess.run([GREENLB_BIN, "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    assert out.stdout.startswith("greenlb 0.")
    assert "libevent 2.1" in out.stdout and "OpenSSL 3" in out.stdout


def test_port_in_use_is_one_clear_line_and_exit_1():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        text, _, _ = basic_config(["127.0.0.1:9"], listen_port=port)
        lb = Greenlb(text, start=False)
        with lb:
            lb.start(wait_ready=False)
            code = lb.proc.wait(timeout=15)
            assert code == 1
            lines = [l for l in lb.log().splitlines() if l.strip()]
            assert len(lines) == 1, lines
            assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
            assert "Address already in use" in lines[0]


def test_invalid_config_prints_file_line_col_and_exits_1():
    text, _, _ = basic_config(["127.0.0.1:9"])
    lb = Greenlb(text.replace('balance = "round_robin"', 'balanse = "round_robin"'),
                 start=False)
    with lb:
        lb.start(wait_ready=False)
        assert lb.proc.wait(timeout=15) == 1
        assert "greenlb.toml:" in lb.log() and "error:" in lb.log() and "did you mean" in lb.log()


def test_check_refuses_an_http_only_hash_key_behind_a_tcp_listener(tmp_path):
    # A tcp listener offers its upstream only the client's address (docs/balancing.md).
    path = tmp_path / "greenlb.toml"
    path.write_text(
        '[[listener]]\nname = "pg"\nlisten = "127.0.0.1:0"\nprotocol = "tcp"\nupstream = "db"\n\n'
        '[[upstream]]\nname = "db"\nbalance = "maglev"\nendpoints = ["127.0.0.1:9"]\n'
        '  [upstream.hash]\n  key = "header:x-user"\n')
    out = subprocess.run([GREENLB_BIN, "--check", "-c", str(path)], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 1
    assert f"{path}:12:9: error: hash key \"header:x-user\" needs an HTTP request" in out.stderr
    path.write_text(path.read_text().replace("header:x-user", "client_ip"))
    out = subprocess.run([GREENLB_BIN, "--check", "-c", str(path)], capture_output=True,
                         text=True, timeout=10)
    assert out.returncode == 0, out.stderr


def test_sigterm_drains_and_exits_zero():
    text, port, _ = basic_config(["127.0.0.1:9"])
    with Greenlb(text) as lb:
        assert lb.stop(signal.SIGTERM) == 0
        assert "drained" in lb.log()


def test_demo_serves_three_upstreams_behind_the_proxy():
    # The demo's ports are fixed (docs/operations.md, "Command line"): skip when something
    # else holds them.
    for port in (8080, 9901, 9001, 9002, 9003):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                import pytest
                pytest.skip(f"port {port} is busy")
    proc = subprocess.Popen([GREENLB_BIN, "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        wait_until(lambda: http_get(9901, "/readyz", timeout=1)[0] == 200 if _open(9901) else False,
                   timeout=15, what="demo readiness")
        names = {http_get(8080, "/")[2].split(b":")[0] for _ in range(9)}
        assert names == {b"Hello from demo upstream 1 (127.0.0.1", b"Hello from demo upstream 2 (127.0.0.1",
                         b"Hello from demo upstream 3 (127.0.0.1"}
        assert http_get(8080, "/echo", method="POST", body=b"hi")[2] == b"hi"
        assert http_get(8080, "/status/418")[0] == 418
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "curl -s http://127.0.0.1:8080/" in out


def _open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
