"""least_conn away from a slow backend across workers, Maglev stickiness by header, and
the limits: max_connections with a max_pending queue, 503 beyond it (docs/balancing.md)."""
import collections
import threading
import time

from greenlb_testlib import Greenlb, Upstream, basic_config, http_get, wait_until


def test_least_conn_sends_new_requests_away_from_a_slow_backend():
    with Upstream("slow") as slow, Upstream("fast") as fast:
        slow.delay(300)
        text, port, _ = basic_config([slow.address, fast.address], workers=2,
                                     balance="least_conn")
        with Greenlb(text) as lb:
            served = collections.Counter()
            deadline = time.monotonic() + 1.5

            def client():
                # Fresh connections: the kernel spreads them over both workers.
                while time.monotonic() < deadline:
                    status, headers, _ = http_get(port, "/", timeout=5)
                    assert status == 200
                    served[headers["x-upstream"]] += 1

            threads = [threading.Thread(target=client) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=10)
            # Round robin would give slow half of them; least_conn keeps it at about one
            # request in flight per 300 ms while fast serves the rest.
            assert served["fast"] >= 50, served
            assert served["slow"] * 5 < served["fast"], served
            status = lb.status()
            assert status["upstreams"][0]["balance"] == "least_conn"


def test_maglev_keeps_each_user_on_one_backend_and_only_a_dead_ones_users_move():
    with Upstream("a") as a, Upstream("b") as b, Upstream("c") as c:
        text, port, _ = basic_config([a.address, b.address, c.address], workers=2,
                                     balance="maglev", upstream_extra="""
  [upstream.hash]
  key = "header:x-user-id"
""")
        with Greenlb(text) as lb:
            def owner(user):
                status, headers, _ = http_get(port, "/", headers={"X-User-Id": user})
                assert status == 200
                return headers["x-upstream"]

            users = [f"user-{i}" for i in range(30)]
            first = {u: owner(u) for u in users}
            for u in users:  # sticky, whichever worker gets the connection
                for _ in range(3):
                    assert owner(u) == first[u]
            assert set(first.values()) == {"a", "b", "c"}
            # Without the header: spread, not all on one.
            assert len({http_get(port, "/")[1]["x-upstream"] for _ in range(30)}) >= 2
            b.stop()
            after = {u: owner(u) for u in users}  # b's users are retried elsewhere
            for u in users:
                if first[u] != "b":
                    assert after[u] == first[u], u
                else:
                    assert after[u] in ("a", "c")


def test_max_pending_queues_up_to_the_limit_and_503s_beyond():
    with Upstream("a") as a:
        a.delay(1000)  # long enough for all six to arrive while the first is in flight
        text, port, _ = basic_config([a.address], workers=2, upstream_extra="""
  [upstream.timeouts]
  connect = "5s"
  [upstream.limits]
  max_connections = 1
  max_pending = 2
""")
        with Greenlb(text) as lb:
            results = []
            barrier = threading.Barrier(6)

            def client():
                barrier.wait()
                start = time.monotonic()
                status = http_get(port, "/", timeout=10)[0]
                results.append((status, time.monotonic() - start))

            threads = [threading.Thread(target=client) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=15)
            statuses = sorted(s for s, _ in results)
            # One in flight, two queued (served one after the other), three refused.
            assert statuses == [200, 200, 200, 503, 503, 503], results
            assert lb.metric("greenlb_upstream_unavailable_total", upstream="app",
                             reason="limits") == 3
            assert a.stats()["requests"] == 3
