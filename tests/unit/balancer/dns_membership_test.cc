// DNS discovery: merging an answer into the membership keeps the state of endpoints that
// stay (health, ejection, in-flight, the object itself); a resolver reading a hosts file.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "balancer/dns_discovery.h"
#include "balancer/upstream.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using namespace std::chrono_literals;
using testing::TestUpstream;
using testing::upstreamConfig;

core::SocketAddress ip(const char* text, uint16_t port = 8080) {
  return *core::SocketAddress::fromIp(text, port);
}

TEST(DnsMembership, KeptEndpointsKeepTheirObjectAndState) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {});
  core::TimePoint now = core::Clock::now();
  size_t added = 0, removed = 0;
  auto first = mergeMembership(*t.upstream, EndpointSet{}, {ip("10.0.0.2"), ip("10.0.0.1")},
                               false, now, &added, &removed);
  EXPECT_EQ(added, 2u);
  EXPECT_EQ(removed, 0u);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0]->name(), "10.0.0.1:8080");  // sorted by name
  EXPECT_EQ(first[0]->rampStart().time_since_epoch().count(), 0);  // no ramp at startup
  t.upstream->setEndpoints(first, false);

  // State on 10.0.0.1: unhealthy, ejected, two requests in flight.
  Endpoint& kept = *first[0];
  kept.setHealthy(false, now);
  kept.ejectFor(30s, now);
  kept.beginRequest();
  kept.beginRequest();

  auto next = mergeMembership(*t.upstream, *t.upstream->snapshot(),
                              {ip("10.0.0.1"), ip("10.0.0.3"), ip("10.0.0.3")}, true,
                              now + 1s, &added, &removed);
  EXPECT_EQ(added, 1u);    // 10.0.0.3 (answered twice, kept once)
  EXPECT_EQ(removed, 1u);  // 10.0.0.2
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].get(), &kept);
  EXPECT_FALSE(next[0]->healthy());
  EXPECT_TRUE(next[0]->ejectedAt(now + 1s));
  EXPECT_EQ(next[0]->inFlight(), 2);
  EXPECT_EQ(next[1]->name(), "10.0.0.3:8080");
  EXPECT_EQ(next[1]->rampStart(), now + 1s);  // new while running: slow start from now
  EXPECT_TRUE(next[1]->healthy());
}

TEST(DnsMembership, ARemovedEndpointLivesWhileARequestHoldsIt) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {1, 1});
  std::weak_ptr<Endpoint> leaving = t.upstream->snapshot()->endpoints[1];
  std::shared_ptr<Endpoint> held = leaving.lock();  // what a request in flight holds
  t.upstream->setEndpoints({t.upstream->snapshot()->endpoints[0]}, false);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_FALSE(leaving.expired());
  held.reset();
  EXPECT_TRUE(leaving.expired());
}

TEST(DnsMembership, EmptyAnswerEmptiesTheUpstream) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {1, 1});
  size_t added = 0, removed = 0;
  auto next = mergeMembership(*t.upstream, *t.upstream->snapshot(), {}, true,
                              core::Clock::now(), &added, &removed);
  EXPECT_TRUE(next.empty());
  EXPECT_EQ(removed, 2u);
}

// The whole discovery on a hub, answers from a hosts file: start() resolves before it
// returns, so the first membership is in place when the upstream starts serving.
TEST(DnsDiscovery, StartResolvesFromTheHostsFile) {
  char dir_template[] = "/tmp/greenlb-dns-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  {
    std::ofstream(dir + "/hosts") << "127.0.0.3 app.test\n127.0.0.2 app.test\n";
    std::ofstream(dir + "/resolv.conf") << "nameserver 127.0.0.1:1\noptions timeout:1 attempts:1\n";
  }
  testing::Hubs h(1);
  auto cfg = upstreamConfig(conf::Balance::round_robin);
  cfg.dns = conf::Address{"app.test", 9000};
  cfg.resolve_every = 10s;
  std::vector<std::string> names;
  h.run([&] {
    Upstream up(cfg, h.registry, h.hubs, core::ResolverOptions{dir + "/resolv.conf", dir + "/hosts"});
    up.start();
    for (const auto& e : up.snapshot()->endpoints) names.push_back(e->name());
    up.stop();
  });
  std::remove((dir + "/hosts").c_str());
  std::remove((dir + "/resolv.conf").c_str());
  std::remove(dir.c_str());
  EXPECT_EQ(names, (std::vector<std::string>{"127.0.0.2:9000", "127.0.0.3:9000"}));
}

}  // namespace
}  // namespace greenlb::balancer

namespace greenlb::balancer {
namespace {

// A membership update is posted to every hub; the upstream may be released (a reload
// retired it) before a hub runs the update. Used to crash in Upstream::applyOnHub.
TEST(DnsMembership, AnUpdatePostedToHubsMayOutliveItsUpstream) {
  testing::Hubs h(2);
  h.run([&] {
    {
      Upstream up(testing::upstreamConfig(conf::Balance::round_robin), h.registry, h.hubs);
      up.setEndpoints(testing::fakeEndpoints(up, {"a"}), /*hubs_running=*/true);
    }
    (void)core::sleep(std::chrono::milliseconds(20));  // both hubs drain their inboxes
  });
  SUCCEED();
}

}  // namespace
}  // namespace greenlb::balancer
