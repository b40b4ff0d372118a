// [upstream.sticky] in the balancer (balancer/sticky.h): the cookie's id, and picks that
// follow it while its endpoint may take traffic, under every policy.
#include <gtest/gtest.h>

#include "balancer/sticky.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using testing::endpointName;
using testing::TestUpstream;
using testing::upstreamConfig;

TEST(StickyId, StableOpaqueAndPerUpstream) {
  uint64_t id = stickyIdOf("app", "10.0.0.1:80");
  EXPECT_EQ(id, stickyIdOf("app", "10.0.0.1:80"));  // every process, every reload
  EXPECT_NE(id, stickyIdOf("app", "10.0.0.2:80"));
  EXPECT_NE(id, stickyIdOf("api", "10.0.0.1:80"));
  char text[kStickyIdLength];
  std::string_view value = formatStickyId(id, text);
  EXPECT_EQ(value.size(), 16u);
  EXPECT_EQ(value.find("10.0.0"), std::string_view::npos);
  EXPECT_EQ(parseStickyId(value), id);
}

TEST(StickyId, ForeignValuesAreNotIds) {
  for (std::string_view v : {"", "abc", "0123456789abcdeg", "0123456789ABCDEF",
                             "0000000000000000", "0123456789abcdef0"}) {
    EXPECT_FALSE(parseStickyId(v)) << v;
  }
  EXPECT_EQ(parseStickyId("00000000000000ff"), 255u);
}

conf::UpstreamConfig stickyConfig(conf::Balance balance) {
  conf::UpstreamConfig c = upstreamConfig(balance);
  c.sticky = conf::StickyConfig{"GLB", {}};
  return c;
}

class StickyEveryPolicy : public ::testing::TestWithParam<conf::Balance> {};

TEST_P(StickyEveryPolicy, ACookiesEndpointTakesTheRequestWhileItIsUp) {
  TestUpstream t(stickyConfig(GetParam()), {1, 1, 1});
  core::TimePoint now = core::Clock::now();
  PickContext ctx;
  ctx.now = now;
  ctx.has_hash = true;
  ctx.hash = 42;
  ctx.sticky = stickyIdOf("app", endpointName(2));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(t.pickName(ctx), endpointName(2));
  // Down (health or ejection): the policy picks among the others.
  t.at(2).setHealthy(false, now);
  for (int i = 0; i < 50; ++i) {
    std::string name = t.pickName(ctx);
    EXPECT_TRUE(name == endpointName(0) || name == endpointName(1)) << name;
  }
  t.at(2).setHealthy(true, now);
  t.at(2).ejectFor(std::chrono::seconds(30), now);
  EXPECT_NE(t.pickName(ctx), endpointName(2));
}

TEST_P(StickyEveryPolicy, ARetryLeavesTheCookiesEndpoint) {
  TestUpstream t(stickyConfig(GetParam()), {1, 1});
  PickContext ctx;
  ctx.now = core::Clock::now();
  ctx.has_hash = true;
  ctx.sticky = stickyIdOf("app", endpointName(0));
  ctx.addTried(&t.at(0));
  EXPECT_EQ(t.pickName(ctx), endpointName(1));
}

TEST_P(StickyEveryPolicy, AnUnknownIdIsPickedByThePolicy) {
  TestUpstream t(stickyConfig(GetParam()), {1, 1});
  PickContext ctx;
  ctx.now = core::Clock::now();
  ctx.has_hash = true;
  ctx.sticky = stickyIdOf("app", "10.9.9.9:80");  // an endpoint that left
  EXPECT_FALSE(t.pickName(ctx).empty());
}

INSTANTIATE_TEST_SUITE_P(Balancer, StickyEveryPolicy,
                         ::testing::Values(conf::Balance::round_robin, conf::Balance::least_conn,
                                           conf::Balance::p2c, conf::Balance::random,
                                           conf::Balance::maglev),
                         [](const auto& info) { return std::string(conf::toString(info.param)); });

}  // namespace
}  // namespace greenlb::balancer
