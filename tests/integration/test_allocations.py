"""House rule 3 as a test: in steady state greenlb makes zero heap allocations per
proxied keep-alive request. tests/support/malloc_counter.c is LD_PRELOADed into the
real binary and counts every malloc/calloc/realloc/memalign of the whole process (operator
new included); the count is read before and after a batch of requests on warm keep-alive
connections. Counts, not time: deterministic."""
import os
import pathlib
import time

import pytest

from greenlb_testlib import GREENLB_BIN, Greenlb, RawHttpConnection, Upstream, basic_config

COUNTER_LIB = os.environ.get("MALLOC_COUNTER_LIB", "")


def sanitized(binary):
    # ASan/TSan builds replace malloc themselves and must come first in the link map.
    return b"__asan_init" in pathlib.Path(binary).read_bytes() or \
        b"__tsan_init" in pathlib.Path(binary).read_bytes()


pytestmark = pytest.mark.skipif(not COUNTER_LIB or sanitized(GREENLB_BIN),
                                reason="needs MALLOC_COUNTER_LIB and a build without sanitizers")


def allocations(path):
    """The counter once it stops moving (its writer thread refreshes it every 10 ms; the
    proxy is idle here, so a stable value is the final one). Bounded: 200 reads."""
    last = None
    for _ in range(200):
        text = path.read_text().strip()
        value = int(text) if text else None
        if value is not None and value == last:
            return value
        last = value
        time.sleep(0.05)
    raise AssertionError(f"allocation counter did not settle (last {last})")


ROUNDS = [  # (method, path, body): small, streamed large, request body, chunked response
    ("GET", "/", b""),
    ("GET", "/big?bytes=40000", b""),
    ("POST", "/echo", b"x" * 3000),
    ("GET", "/big?bytes=5000&chunked=1", b""),
]


def run_requests(conns, rounds):
    for _ in range(rounds):
        for c in conns:
            for method, path, body in ROUNDS:
                status, _, data = c.request(path, method=method, body=body)
                assert status == 200
                if method == "POST":
                    assert data == body


# A route with header rules and a prefix rewrite (docs/proxying.md, "Header rules and prefix
# rewrite"): compiled at load, they too must cost no allocation per request.
HEADER_RULES = """
  [[listener.route]]
  path_prefix = "/"
  rewrite_prefix = "/"
  upstream = "app"
  request_headers = { set = { "X-Env" = "prod" }, add = { "X-Via" = "${listener}/${upstream}/${client_ip}/${request_id}" }, remove = ["X-Debug"] }
  response_headers = { set = { "X-Served-By" = "${upstream}" }, remove = ["Server"] }
"""


@pytest.mark.parametrize("listener_extra", ["", HEADER_RULES], ids=["plain", "header_rules"])
def test_zero_allocations_per_keep_alive_request(tmp_path, listener_extra):
    counter = tmp_path / "allocations"
    with Upstream("a") as a, Upstream("b") as b:
        text, port, _ = basic_config([a.address, b.address], workers=1,
                                     listener_extra=listener_extra)
        env = {"LD_PRELOAD": COUNTER_LIB, "MALLOC_COUNTER_FILE": str(counter)}
        with Greenlb(text, env=env) as lb:
            conns = [RawHttpConnection(port) for _ in range(4)]
            run_requests(conns, 20)  # warm: pools, buffers, upstream connections, fibers
            before = allocations(counter)
            assert before > 0  # the counter counts (startup allocates)
            run_requests(conns, 100)  # 1,600 requests
            # Periodic work counts too: idle long enough for two rounds of the status
            # page's history, sampled once a second (docs/observability.md).
            time.sleep(2.5)
            after = allocations(counter)
            assert after - before == 0, f"{after - before} allocations in 1,600 requests"
            assert lb.proc.poll() is None
