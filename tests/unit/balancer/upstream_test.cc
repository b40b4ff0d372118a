// Upstream::pick around the policies: health, panic mode and its gauge, max_connections,
// retries avoiding tried endpoints, empty memberships, the `up` gauge.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using testing::endpointName;
using testing::TestUpstream;
using testing::upstreamConfig;

constexpr conf::Balance kAll[] = {conf::Balance::round_robin, conf::Balance::least_conn,
                                  conf::Balance::p2c, conf::Balance::random,
                                  conf::Balance::maglev};

class EveryPolicy : public ::testing::TestWithParam<conf::Balance> {};

TEST_P(EveryPolicy, PanicSpreadsOverAllWhenAllAreOutAndSetsTheGauge) {
  TestUpstream t(upstreamConfig(GetParam()), {1, 1, 1});
  core::TimePoint now = core::Clock::now();
  EXPECT_FALSE(t.upstream->inPanic());
  for (size_t i = 0; i < 3; ++i) t.at(i).setHealthy(false, now);
  auto c = t.counts(3000, now);
  EXPECT_EQ(c.count(""), 0u);  // nobody failed
  EXPECT_EQ(c.size(), 3u);     // spread over all of them
  EXPECT_TRUE(t.upstream->inPanic());
  EXPECT_EQ(t.registry.upstream("app").panic.load(), 1);
  // One comes back: traffic goes to it alone, and the gauge drops.
  t.at(1).setHealthy(true, now);
  auto back = t.counts(100, now);
  EXPECT_EQ(back[endpointName(1)], 100);
  EXPECT_FALSE(t.upstream->inPanic());
}

TEST_P(EveryPolicy, PanicCountsEjectedEndpointsAsOut) {
  TestUpstream t(upstreamConfig(GetParam()), {1, 1});
  core::TimePoint now = core::Clock::now();
  t.at(0).setHealthy(false, now);
  t.at(1).ejectFor(std::chrono::seconds(30), now);
  PickFailure why;
  PickContext ctx;
  ctx.now = now;
  EXPECT_NE(t.upstream->pick(0, ctx, &why), nullptr);
  EXPECT_TRUE(t.upstream->inPanic());
}

TEST_P(EveryPolicy, PanicOffAnswersNoHealthy) {
  auto cfg = upstreamConfig(GetParam());
  cfg.panic = false;
  TestUpstream t(cfg, {1, 1});
  core::TimePoint now = core::Clock::now();
  t.at(0).setHealthy(false, now);
  t.at(1).setHealthy(false, now);
  PickFailure why = PickFailure::none;
  PickContext ctx;
  ctx.now = now;
  EXPECT_EQ(t.pickName(ctx, &why), "");
  EXPECT_EQ(why, PickFailure::no_healthy);
  EXPECT_FALSE(t.upstream->inPanic());
}

TEST_P(EveryPolicy, NoEndpointsAtAllIsNoHealthy) {
  TestUpstream t(upstreamConfig(GetParam()), {});
  PickFailure why = PickFailure::none;
  PickContext ctx;
  ctx.now = core::Clock::now();
  EXPECT_EQ(t.pickName(ctx, &why), "");
  EXPECT_EQ(why, PickFailure::no_healthy);
}

TEST_P(EveryPolicy, MaxConnectionsSkipsFullEndpointsThenFailsForLimits) {
  auto cfg = upstreamConfig(GetParam());
  cfg.limits.max_connections = 2;
  TestUpstream t(cfg, {1, 1});
  PickContext ctx;
  ctx.now = core::Clock::now();
  PickFailure why;
  t.at(0).beginRequest();
  t.at(0).beginRequest();  // endpoint 0 is full
  for (int i = 0; i < 20; ++i) EXPECT_EQ(t.pickName(ctx, &why), endpointName(1));
  t.at(1).beginRequest();
  t.at(1).beginRequest();  // both full: limits, not panic
  EXPECT_EQ(t.pickName(ctx, &why), "");
  EXPECT_EQ(why, PickFailure::limits);
  EXPECT_FALSE(t.upstream->inPanic());
  t.at(1).endRequest();
  EXPECT_EQ(t.pickName(ctx, &why), endpointName(1));
}

TEST_P(EveryPolicy, ARetryAvoidsTriedEndpointsThenReusesOne) {
  TestUpstream t(upstreamConfig(GetParam()), {1, 1, 1});
  PickContext ctx;
  ctx.now = core::Clock::now();
  ctx.has_hash = true;
  ctx.hash = 12345;
  PickFailure why;
  std::set<Endpoint*> seen;
  for (int i = 0; i < 3; ++i) {
    Endpoint* e = t.upstream->pick(0, ctx, &why);
    ASSERT_NE(e, nullptr);
    EXPECT_TRUE(seen.insert(e).second) << "tried twice before trying all";
    ctx.addTried(e);
  }
  // Every one was tried: the retry goes to one of them again rather than failing.
  EXPECT_NE(t.upstream->pick(0, ctx, &why), nullptr);
}

TEST_P(EveryPolicy, ARetryInPanicAvoidsTheTriedEndpoint) {
  TestUpstream t(upstreamConfig(GetParam()), {1, 1});
  core::TimePoint now = core::Clock::now();
  t.at(0).setHealthy(false, now);
  t.at(1).setHealthy(false, now);
  PickContext ctx;
  ctx.now = now;
  PickFailure why;
  Endpoint* first = t.upstream->pick(0, ctx, &why);
  ctx.addTried(first);
  Endpoint* second = t.upstream->pick(0, ctx, &why);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
}

INSTANTIATE_TEST_SUITE_P(Balancer, EveryPolicy, ::testing::ValuesIn(kAll),
                         [](const auto& info) { return std::string(conf::toString(info.param)); });

TEST(Endpoint, UpGaugeFollowsHealthAndEjection) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {1});
  Endpoint& e = t.at(0);
  core::TimePoint now = core::Clock::now();
  EXPECT_EQ(e.metrics().up.load(), 1);
  e.setHealthy(false, now);
  EXPECT_EQ(e.metrics().up.load(), 0);
  e.setHealthy(true, now);
  EXPECT_EQ(e.metrics().up.load(), 1);
  e.ejectFor(std::chrono::seconds(1), now);
  EXPECT_EQ(e.metrics().up.load(), 0);
  e.setHealthy(true, now);  // healthy but still ejected: stays 0
  EXPECT_EQ(e.metrics().up.load(), 0);
  e.refreshUp(now + std::chrono::seconds(2));
  EXPECT_EQ(e.metrics().up.load(), 1);
}

TEST(Endpoint, WeightZeroCountsAsOne) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {0, 1});
  EXPECT_EQ(t.at(0).weight(), 1u);
}

// max_connections holds across hubs: two threads racing for one slot never both hold it.
TEST(Endpoint, TryBeginRequestNeverExceedsTheLimitUnderContention) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {1});
  Endpoint& ep = t.at(0);
  std::atomic<int> holders{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> taken{0};
  auto contend = [&] {
    for (int i = 0; i < 20000; ++i) {
      if (!ep.tryBeginRequest(1)) continue;
      if (holders.fetch_add(1) != 0) overlaps.fetch_add(1);
      taken.fetch_add(1);
      holders.fetch_sub(1);
      ep.endRequest();
    }
  };
  std::thread a(contend), b(contend);
  a.join();
  b.join();
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_GT(taken.load(), 0);
  EXPECT_EQ(ep.inFlight(), 0);
  EXPECT_FALSE([&] {
    ep.beginRequest();
    bool second = ep.tryBeginRequest(1);
    ep.endRequest();
    return second;
  }());
}

}  // namespace
}  // namespace greenlb::balancer
