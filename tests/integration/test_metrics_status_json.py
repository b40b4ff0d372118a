"""What /status tells the status page (issue 20; docs/observability.md, "/status"): each
endpoint's state in one word with its latest health check and how long an ejection lasts,
endpoints that left the configuration but still finish requests, and the latest reload's
outcome."""
import threading

from greenlb_testlib import Greenlb, Upstream, basic_config, free_port, http_get, wait_until


def upstream_status(lb, name="app"):
    return next(u for u in lb.status()["upstreams"] if u["name"] == name)


def endpoint(lb, address, name="app"):
    return next(e for e in upstream_status(lb, name)["endpoints"] if e["address"] == address)


def test_endpoint_states_checks_and_ejection():
    dead = f"127.0.0.1:{free_port()}"
    api_port = free_port()
    with Upstream("a") as a, Upstream("sick") as sick:
        sick.set_health(False)
        text, port, _ = basic_config([a.address, sick.address], upstream_extra="""
  [upstream.health]
  path = "/healthz"
  interval = "200ms"
""")
        text += f"""
[[upstream]]
name = "api"
endpoints = ["{a.address}", "{dead}"]
  [upstream.outlier]
  consecutive_failures = 1
  ejection = "5m"

[[listener]]
name = "api"
listen = "127.0.0.1:{api_port}"
upstream = "api"
"""
        with Greenlb(text) as lb:
            wait_until(lambda: endpoint(lb, sick.address)["state"] == "down", what="sick down")
            down = endpoint(lb, sick.address)
            assert down["healthy"] is False
            assert down["last_check"]["ok"] is False
            assert down["last_check"]["reason"] == "status 503"
            assert down["last_check"]["age_seconds"] >= 0
            up = endpoint(lb, a.address)
            assert up["state"] == "up" and up["ejected_for_seconds"] is None
            wait_until(lambda: endpoint(lb, a.address)["last_check"] is not None,
                       what="a's first check")
            assert endpoint(lb, a.address)["last_check"]["ok"] is True
            assert upstream_status(lb)["health_checks"] is True

            for _ in range(4):  # one of them reaches the dead one and ejects it
                assert http_get(api_port, "/")[0] == 200
            ejected = endpoint(lb, dead, "api")
            assert ejected["state"] == "ejected" and ejected["healthy"] is True
            assert 0 < ejected["ejected_for_seconds"] <= 300
            assert ejected["last_check"] is None  # no active checks on "api"
            assert upstream_status(lb, "api")["health_checks"] is False


def test_an_endpoint_removed_by_a_reload_is_draining_while_it_finishes():
    with Upstream("slow") as slow, Upstream("b") as b:
        text, port, _ = basic_config([slow.address],
                                     upstream_extra='  [upstream.timeouts]\n  response = "30s"\n')
        with Greenlb(text) as lb:
            slow.delay(3000)
            done = []
            client = threading.Thread(target=lambda: done.append(http_get(port, "/", timeout=20)))
            client.start()
            try:
                wait_until(lambda: endpoint(lb, slow.address)["in_flight"] == 1,
                           what="a request in flight on the slow endpoint")
                lb.reload(text.replace(slow.address, b.address))
                draining = upstream_status(lb)["draining_endpoints"]
                assert [(e["address"], e["state"], e["in_flight"]) for e in draining] == \
                    [(slow.address, "draining", 1)]
                assert [e["address"] for e in upstream_status(lb)["endpoints"]] == [b.address]
            finally:
                client.join(timeout=20)
            assert done and done[0][0] == 200
            wait_until(lambda: upstream_status(lb)["draining_endpoints"] == [], timeout=15,
                       what="the removed endpoint gone once its request ended")


def test_the_latest_reload_outcome():
    with Upstream("a") as a:
        text, port, _ = basic_config([a.address])
        with Greenlb(text) as lb:
            reload = lb.status()["reload"]
            assert reload["last"] is None  # the initial load is not a reload
            assert reload["successes"] == reload["failures"] == 0
            started = reload["last_success_at"]
            lb.reload(text.replace('graceful_timeout = "5s"', 'graceful_timeout = "5 parsecs"'),
                      expect_success=False)
            reload = lb.status()["reload"]
            assert reload["last"]["ok"] is False and reload["failures"] == 1
            assert "greenlb.toml:" in reload["last"]["errors"]
            assert reload["last_success_at"] == started
            lb.reload(text)
            reload = lb.status()["reload"]
            assert reload["last"]["ok"] is True and reload["last"]["errors"] == ""
            assert reload["successes"] == 1 and reload["last_success_at"] > started
            assert lb.status()["generation"] == 2
