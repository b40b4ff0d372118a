// Active health checks: the probe (HTTP status line, TCP connect) against a real server on
// loopback, and the checker's rise/fall state machine on real hubs.
#include "balancer/health_checker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "balancer/health_probe.h"
#include "balancer/upstream.h"
#include "core/socket.h"
#include "metrics/registry.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using namespace std::chrono_literals;

TEST(HealthProbe, ParseStatusLine) {
  EXPECT_EQ(parseStatusLine("HTTP/1.1 200 OK\r\n"), 200);
  EXPECT_EQ(parseStatusLine("HTTP/1.0 503 Service Unavailable\r\n"), 503);
  EXPECT_EQ(parseStatusLine("HTTP/1.1 204\r\n"), 204);
  EXPECT_EQ(parseStatusLine("HTTP/1.1 301"), 301);
  EXPECT_EQ(parseStatusLine("HTTP/1.1 20"), 0);
  EXPECT_EQ(parseStatusLine("HTTP/2 200 OK\r\n"), 0);
  EXPECT_EQ(parseStatusLine("HTTP/1.1 2x0 OK\r\n"), 0);
  EXPECT_EQ(parseStatusLine("HTTP/1.1 2000 OK\r\n"), 0);
  EXPECT_EQ(parseStatusLine("HTTP/1.1 099 OK\r\n"), 0);
  EXPECT_EQ(parseStatusLine("SSH-2.0-OpenSSH\r\n"), 0);
}

// A tiny HTTP server fiber answering every connection with `status` (read each time), and
// counting the connections it accepted.
struct TestServer {
  core::Listener listener;
  core::SocketAddress address;
  std::atomic<int> status{200};
  std::atomic<int> connections{0};
  bool close_silently = false;
  core::JoinHandle<void> fiber;

  TestServer() {
    auto l = core::Listener::bind(*core::SocketAddress::fromIp("127.0.0.1", 0));
    listener = std::move(*l);
    address = *listener.localAddress();
    fiber = core::spawn([this] {
      for (;;) {
        auto conn = listener.accept();
        if (!conn.ok()) return;
        ++connections;
        char buf[1024];
        (void)conn->readSome(buf, sizeof buf);
        if (close_silently) continue;
        std::string reply = "HTTP/1.1 " + std::to_string(status.load()) +
                            " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)conn->writeAll(reply.data(), reply.size());
      }
    });
  }
  ~TestServer() {
    fiber.kill();
    (void)fiber.join();
  }
};

void onHub(std::function<void()> body) { testing::Hubs(1).run(std::move(body)); }

ProbeResult probe(const core::SocketAddress& at, std::string path) {
  metrics::Registry registry(1, "test");
  Endpoint ep("test", at, 1, 1, registry.endpoint("app", "test"));
  conf::HealthConfig cfg;
  cfg.path = std::move(path);
  cfg.timeout = 1s;
  return probeEndpoint(ep, cfg);
}

TEST(HealthProbe, HttpStatusDecides) {
  onHub([] {
    TestServer s;
    EXPECT_TRUE(probe(s.address, "/healthz").ok);
    s.status = 302;
    EXPECT_TRUE(probe(s.address, "/healthz").ok);
    s.status = 503;
    ProbeResult r = probe(s.address, "/healthz");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "status 503");
    s.status = 404;
    EXPECT_FALSE(probe(s.address, "/healthz").ok);
    s.close_silently = true;
    r = probe(s.address, "/healthz");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "connection closed");
  });
}

TEST(HealthProbe, TcpConnectWithoutPath) {
  onHub([] {
    core::SocketAddress dead;
    {
      TestServer s;
      s.close_silently = true;  // a TCP check does not care what is said
      EXPECT_TRUE(probe(s.address, "").ok);
      dead = s.address;
    }
    ProbeResult r = probe(dead, "");  // nothing listens there any more
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "connect refused");
  });
}

TEST(HealthProbe, ASilentServerTimesOut) {
  onHub([] {
    metrics::Registry registry(1, "test");
    conf::HealthConfig cfg;
    cfg.path = "/";
    cfg.timeout = 100ms;
    // A listener that never accepts: the connect completes (the backlog), no answer comes.
    auto l = core::Listener::bind(*core::SocketAddress::fromIp("127.0.0.1", 0));
    Endpoint silent("silent", *l->localAddress(), 1, 1, registry.endpoint("app", "silent"));
    ProbeResult r = probeEndpoint(silent, cfg);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.reason, "timeout");
  });
}

TEST(HealthChecker, FallAndRiseOnRealHubs) {
  testing::Hubs h(2);
  auto cfg = testing::upstreamConfig(conf::Balance::round_robin);
  conf::HealthConfig hc;
  hc.path = "/healthz";
  hc.interval = 20ms;
  hc.timeout = 500ms;
  hc.rise = 2;
  hc.fall = 3;
  cfg.health = hc;
  bool initially_up = false, went_down = false, came_back = false;
  uint64_t failures_when_down = 0;
  std::optional<LastCheck::Outcome> check_when_down, check_when_up;
  h.run([&] {
    TestServer s;
    Upstream up(cfg, h.registry, h.hubs);
    up.setEndpoints({up.makeEndpoint("a", s.address, 1)}, false);
    Endpoint& a = up.hubEndpoints(0)[0];
    up.start();
    for (int i = 0; i < 200 && s.connections < 3; ++i) (void)core::sleep(5ms);
    initially_up = a.healthy();
    s.status = 500;
    for (int i = 0; i < 400 && a.healthy(); ++i) (void)core::sleep(5ms);
    went_down = !a.healthy();
    failures_when_down =
        a.metrics().health_checks[metrics::index(metrics::CheckResult::failure)].value();
    check_when_down = a.lastCheck().get();
    EXPECT_EQ(a.metrics().up.load(), 0);
    s.status = 200;
    for (int i = 0; i < 400 && !a.healthy(); ++i) (void)core::sleep(5ms);
    came_back = a.healthy();
    check_when_up = a.lastCheck().get();
    EXPECT_EQ(a.metrics().up.load(), 1);
    up.stop();
  });
  EXPECT_TRUE(initially_up);
  EXPECT_TRUE(went_down);
  EXPECT_GE(failures_when_down, 3u);  // not down before `fall` failures in a row
  EXPECT_TRUE(came_back);
  // The status page says why it went down.
  ASSERT_TRUE(check_when_down.has_value());
  EXPECT_FALSE(check_when_down->ok);
  EXPECT_EQ(check_when_down->reason, "status 500");
  ASSERT_TRUE(check_when_up.has_value());
  EXPECT_TRUE(check_when_up->ok);
  EXPECT_EQ(check_when_up->reason, "");
}

TEST(HealthChecker, AFirstFailedCheckTakesTheEndpointOutAtOnce) {
  testing::Hubs h(1);
  auto cfg = testing::upstreamConfig(conf::Balance::round_robin);
  conf::HealthConfig hc;
  hc.interval = 10s;  // one check only within the test
  hc.timeout = 500ms;
  cfg.health = hc;  // TCP
  bool down = false;
  h.run([&] {
    core::SocketAddress dead;
    {
      auto l = core::Listener::bind(*core::SocketAddress::fromIp("127.0.0.1", 0));
      dead = *l->localAddress();
    }
    Upstream up(cfg, h.registry, h.hubs);
    up.setEndpoints({up.makeEndpoint("dead", dead, 1)}, false);
    Endpoint& e = up.hubEndpoints(0)[0];
    up.start();
    for (int i = 0; i < 200 && e.healthy(); ++i) (void)core::sleep(5ms);
    down = !e.healthy();
    up.stop();
  });
  EXPECT_TRUE(down);
}

TEST(HealthChecker, OneProbePerEndpointFollowingMembership) {
  testing::Hubs h(2);
  h.run([&] {
    conf::HealthConfig hc;
    hc.interval = 10s;
    HealthChecker checker("app", hc, h.hubs);
    Upstream up(testing::upstreamConfig(conf::Balance::round_robin), h.registry, h.hubs);
    auto eps = testing::fakeEndpoints(up, {"a", "b", "c"});
    auto a = eps[0], b = eps[1], c = eps[2];
    EndpointSet s1;
    s1.endpoints = {a, b};
    checker.follow(s1);
    EXPECT_EQ(checker.size(), 2u);
    checker.follow(s1);  // the same membership again: no second probe
    EXPECT_EQ(checker.size(), 2u);
    EndpointSet s2;
    s2.endpoints = {b, c};
    checker.follow(s2);
    EXPECT_EQ(checker.size(), 2u);
    checker.stop();
    EXPECT_EQ(checker.size(), 0u);
    (void)core::sleep(20ms);  // the kill orders run on their hubs
  });
}

}  // namespace
}  // namespace greenlb::balancer
