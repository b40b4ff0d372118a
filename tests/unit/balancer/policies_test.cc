// round_robin, random and p2c: exact sequences where the policy is deterministic, counts
// from fixed seeds (so exactly reproducible) with a tolerance where it is random.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "balancer/slow_start.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using testing::endpointName;
using testing::TestUpstream;
using testing::upstreamConfig;

std::string sequence(TestUpstream& t, int n, size_t hub = 0) {
  std::string out;
  PickContext ctx;
  ctx.now = core::Clock::now();
  for (int i = 0; i < n; ++i) {
    std::string name = t.pickName(ctx, nullptr, hub);
    // "10.0.0.1:80" -> 'a', "10.0.0.2:80" -> 'b'...
    out += name.empty() ? '-' : static_cast<char>('a' + (name[7] - '1'));
  }
  return out;
}

TEST(RoundRobin, SmoothWeightedSequenceIsNginxs) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {5, 1, 1});
  // nginx's smooth weighted round robin for a=5 b=1 c=1: interleaved, never a burst of 5.
  EXPECT_EQ(sequence(t, 14), "aabacaaaabacaa");
}

TEST(RoundRobin, EqualWeightsCycle) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {1, 1, 1});
  EXPECT_EQ(sequence(t, 9), "abcabcabc");
}

TEST(RoundRobin, EqualWeightsSkipAnUnavailableWithoutDoublingTheNext) {
  for (auto slow_start : {conf::Duration(0), conf::Duration(std::chrono::seconds(10))}) {
    auto cfg = upstreamConfig(conf::Balance::round_robin);
    cfg.outlier.slow_start = slow_start;  // 0: the rotation; else smooth WRR: the same
    TestUpstream t(cfg, {1, 1, 1, 1});
    t.at(1).setHealthy(false, core::TimePoint(std::chrono::seconds(1)));
    EXPECT_EQ(sequence(t, 9), "acdacdacd") << slow_start.count();
  }
}

TEST(RoundRobin, ALargeEqualFleetIsAPlainRotation) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), std::vector<uint32_t>(1000, 1));
  PickContext ctx;
  ctx.now = core::Clock::now();
  PickFailure why;
  for (size_t i = 0; i < 2500; ++i) {
    ASSERT_EQ(t.upstream->pick(0, ctx, &why), &t.at(i % 1000)) << i;
  }
}

TEST(RoundRobin, HubsStartAtDifferentPositions) {
  // Two hubs with a fresh membership must not both send their first request to `a`.
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {1, 1, 1}, 2);
  EXPECT_EQ(sequence(t, 3, 0), "abc");
  EXPECT_EQ(sequence(t, 3, 1), "bca");
}

TEST(RoundRobin, ExactCountsFollowWeights) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {3, 2, 1});
  auto c = t.counts(600);
  EXPECT_EQ(c[endpointName(0)], 300);
  EXPECT_EQ(c[endpointName(1)], 200);
  EXPECT_EQ(c[endpointName(2)], 100);
}

TEST(RoundRobin, UnhealthyEndpointIsSkippedAndTheRestKeepTheirRatio) {
  TestUpstream t(upstreamConfig(conf::Balance::round_robin), {2, 1, 1});
  core::TimePoint now = core::Clock::now();
  t.at(0).setHealthy(false, now);
  auto c = t.counts(200, now);
  EXPECT_EQ(c.count(endpointName(0)), 0u);
  EXPECT_EQ(c[endpointName(1)], 100);
  EXPECT_EQ(c[endpointName(2)], 100);
}

TEST(RoundRobin, SlowStartLowersTheShareOfARecoveredEndpoint) {
  auto cfg = upstreamConfig(conf::Balance::round_robin);
  cfg.outlier.slow_start = std::chrono::seconds(10);
  TestUpstream t(cfg, {1, 1});
  core::TimePoint t0 = core::Clock::now();
  t.at(0).setHealthy(false, t0);
  t.at(0).setHealthy(true, t0);  // back: ramps from t0
  // Halfway through the ramp it weighs 500 of 1000: one pick in three.
  auto half = t.counts(3000, t0 + std::chrono::seconds(5));
  EXPECT_EQ(half[endpointName(0)], 1000);
  EXPECT_EQ(half[endpointName(1)], 2000);
  // At once it has the floor (10%), after the ramp all of its weight.
  EXPECT_EQ(effectiveWeight(t.at(0), t0, cfg.outlier.slow_start), kSlowStartFloor);
  EXPECT_EQ(effectiveWeight(t.at(0), t0 + std::chrono::seconds(10), cfg.outlier.slow_start),
            kWeightScale);
  EXPECT_EQ(effectiveWeight(t.at(1), t0, cfg.outlier.slow_start), kWeightScale);
}

TEST(Random, DrawsInProportionToWeight) {
  TestUpstream t(upstreamConfig(conf::Balance::random), {5, 1, 1});
  auto c = t.counts(70000);
  // Fixed seed: reproducible; 3% is > 5 standard deviations for each count.
  EXPECT_NEAR(c[endpointName(0)], 50000, 1500);
  EXPECT_NEAR(c[endpointName(1)], 10000, 300);
  EXPECT_NEAR(c[endpointName(2)], 10000, 300);
}

TEST(Random, EqualWeightsAreUniformAndSkipUnavailable) {
  TestUpstream t(upstreamConfig(conf::Balance::random), {1, 1, 1, 1});
  core::TimePoint now = core::Clock::now();
  t.at(3).setHealthy(false, now);
  auto c = t.counts(30000, now);
  EXPECT_EQ(c.count(endpointName(3)), 0u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(c[endpointName(i)], 10000, 400) << i;
}

TEST(Random, FindsTheOneAvailableEndpointAmongMany) {
  // Rejection sampling misses almost always here: the exact fallback must find it.
  std::vector<uint32_t> weights(100, 1);
  TestUpstream t(upstreamConfig(conf::Balance::random), weights);
  core::TimePoint now = core::Clock::now();
  for (size_t i = 0; i < 100; ++i) {
    if (i != 42) t.at(i).setHealthy(false, now);
  }
  auto c = t.counts(100, now);
  EXPECT_EQ(c[endpointName(42)], 100);
}

TEST(P2c, NeverPicksTheMostLoadedWhileAnotherIsEligible) {
  TestUpstream t(upstreamConfig(conf::Balance::p2c), {1, 1, 1, 1});
  for (int i = 0; i < 10; ++i) t.at(2).beginRequest();
  auto c = t.counts(4000);
  EXPECT_EQ(c.count(endpointName(2)), 0u);
  // The others are equally loaded: each pair is a coin toss, so about a third each.
  for (size_t i : {0u, 1u, 3u}) EXPECT_NEAR(c[endpointName(i)], 4000 / 3, 150) << i;
}

TEST(P2c, TwoEndpointsAlwaysTheLessLoaded) {
  TestUpstream t(upstreamConfig(conf::Balance::p2c), {1, 1});
  t.at(0).beginRequest();
  auto c = t.counts(1000);
  EXPECT_EQ(c[endpointName(1)], 1000);
}

TEST(P2c, IdleEqualEndpointsAreUniform) {
  TestUpstream t(upstreamConfig(conf::Balance::p2c), {1, 1, 1, 1, 1});
  auto c = t.counts(50000);
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(c[endpointName(i)], 10000, 400) << i;
}

TEST(P2c, LoadIsPerUnitOfWeight) {
  // a: weight 3 with 2 in flight ((2+1)/3 = 1) beats b: weight 1 with 1 ((1+1)/1 = 2).
  TestUpstream t(upstreamConfig(conf::Balance::p2c), {3, 1});
  t.at(0).beginRequest();
  t.at(0).beginRequest();
  t.at(1).beginRequest();
  auto c = t.counts(200);
  EXPECT_EQ(c[endpointName(0)], 200);
}

TEST(P2c, SeesLoadCountedOnAnotherHub) {
  TestUpstream t(upstreamConfig(conf::Balance::p2c), {1, 1}, 2);
  PickContext ctx;
  ctx.now = core::Clock::now();
  PickFailure why;
  Endpoint* e = t.upstream->pick(1, ctx, &why);  // hub 1 starts a request on e...
  ASSERT_NE(e, nullptr);
  e->beginRequest();
  for (int i = 0; i < 100; ++i) {  // ...so hub 0 sends everything to the other one
    EXPECT_NE(t.upstream->pick(0, ctx, &why), e);
  }
}

}  // namespace
}  // namespace greenlb::balancer
