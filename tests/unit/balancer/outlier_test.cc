// Passive outlier ejection (docs/balancing.md, "Passive outlier ejection"): consecutive
// failures, ejection time
// doubling up to 10x, max_ejected_percent, return after the period with a slow-start ramp,
// the `up` gauge back to 1 when the ejection ends.
#include <gtest/gtest.h>

#include <chrono>

#include "balancer/slow_start.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using namespace std::chrono_literals;
using testing::endpointName;
using testing::TestUpstream;
using testing::upstreamConfig;

conf::UpstreamConfig outlierConfig(uint32_t failures = 3, conf::Duration ejection = 10s,
                                   uint32_t max_percent = 50) {
  auto cfg = upstreamConfig(conf::Balance::round_robin);
  cfg.outlier.consecutive_failures = failures;
  cfg.outlier.ejection = ejection;
  cfg.outlier.max_ejected_percent = max_percent;
  return cfg;
}

void fail(TestUpstream& t, size_t i, int times, core::TimePoint now) {
  for (int k = 0; k < times; ++k) t.upstream->reportFailure(t.at(i), now);
}

TEST(Outlier, ConsecutiveFailuresEjectAndSuccessResetsTheCount) {
  TestUpstream t(outlierConfig(3), {1, 1});
  core::TimePoint now = core::Clock::now();
  fail(t, 0, 2, now);
  t.upstream->reportSuccess(t.at(0));
  fail(t, 0, 2, now);
  EXPECT_FALSE(t.at(0).ejectedAt(now));  // never 3 in a row
  fail(t, 0, 1, now);
  EXPECT_TRUE(t.at(0).ejectedAt(now));
  EXPECT_EQ(t.at(0).ejectedUntil(), now + 10s);
  EXPECT_EQ(t.at(0).metrics().ejections.value(), 1u);
  EXPECT_EQ(t.at(0).metrics().up.load(), 0);
  auto c = t.counts(10, now);
  EXPECT_EQ(c[endpointName(1)], 10);  // no traffic while ejected
}

TEST(Outlier, ZeroFailuresTurnsEjectionOff) {
  TestUpstream t(outlierConfig(0), {1, 1});
  core::TimePoint now = core::Clock::now();
  fail(t, 0, 100, now);
  EXPECT_FALSE(t.at(0).ejectedAt(now));
}

TEST(Outlier, EjectionDoublesOnRepeatUpToTenTimes) {
  TestUpstream t(outlierConfig(1, 10s, 100), {1, 1});
  core::TimePoint now = core::Clock::now();
  const core::Duration expected[] = {10s, 20s, 40s, 80s, 100s, 100s};
  for (core::Duration want : expected) {
    fail(t, 0, 1, now);
    ASSERT_TRUE(t.at(0).ejectedAt(now));
    EXPECT_EQ(t.at(0).ejectedUntil() - now, want);
    now = t.at(0).ejectedUntil() + 1s;  // back, and failing again soon after
    EXPECT_FALSE(t.at(0).ejectedAt(now));
  }
  // Staying in for more than 10x the base forgets the run: back to the base period.
  now += 101s;
  fail(t, 0, 1, now);
  EXPECT_EQ(t.at(0).ejectedUntil() - now, 10s);
}

TEST(Outlier, FailuresWhileEjectedDoNotCarryOver) {
  // Requests already in flight when an endpoint is ejected fail too; they must not leave
  // a count that ejects it again on its first failure after it returns.
  TestUpstream t(outlierConfig(3, 10s, 100), {1, 1});
  core::TimePoint now = core::Clock::now();
  fail(t, 0, 3, now);
  ASSERT_TRUE(t.at(0).ejectedAt(now));
  fail(t, 0, 5, now + 1s);  // stragglers during the ejection
  core::TimePoint back = now + 11s;
  fail(t, 0, 1, back);
  EXPECT_FALSE(t.at(0).ejectedAt(back));
  fail(t, 0, 2, back);
  EXPECT_TRUE(t.at(0).ejectedAt(back));
}

TEST(Outlier, MaxEjectedPercentCapsEjections) {
  TestUpstream t(outlierConfig(1, 10s, 50), {1, 1, 1, 1, 1});
  core::TimePoint now = core::Clock::now();
  for (size_t i = 0; i < 5; ++i) fail(t, i, 1, now);
  int ejected = 0;
  for (size_t i = 0; i < 5; ++i) ejected += t.at(i).ejectedAt(now) ? 1 : 0;
  EXPECT_EQ(ejected, 2);  // floor(5 * 50 / 100)
  EXPECT_FALSE(t.upstream->inPanic());
  // Once the first ones are back, others may go.
  core::TimePoint later = now + 11s;
  fail(t, 4, 1, later);
  EXPECT_TRUE(t.at(4).ejectedAt(later));
}

TEST(Outlier, AtLeastOneEndpointMayBeEjected) {
  TestUpstream t(outlierConfig(1, 10s, 10), {1, 1});  // floor(2 * 10%) = 0 -> max(1, 0)
  core::TimePoint now = core::Clock::now();
  fail(t, 0, 1, now);
  fail(t, 1, 1, now);
  EXPECT_TRUE(t.at(0).ejectedAt(now));
  EXPECT_FALSE(t.at(1).ejectedAt(now));
}

TEST(Outlier, ReturnsAfterThePeriodAndRampsUp) {
  auto cfg = outlierConfig(1, 10s, 100);
  cfg.outlier.slow_start = 20s;
  TestUpstream t(cfg, {1, 1});
  core::TimePoint now = core::Clock::now();
  fail(t, 0, 1, now);
  core::TimePoint back = now + 10s;
  EXPECT_TRUE(t.at(0).ejectedAt(back - 1ms));
  EXPECT_FALSE(t.at(0).ejectedAt(back));
  // The ramp starts when the ejection ends: 10% at once, half after half the slow start.
  EXPECT_EQ(effectiveWeight(t.at(0), back, cfg.outlier.slow_start), kSlowStartFloor);
  EXPECT_EQ(effectiveWeight(t.at(0), back + 10s, cfg.outlier.slow_start), kWeightScale / 2);
  EXPECT_EQ(effectiveWeight(t.at(0), back + 20s, cfg.outlier.slow_start), kWeightScale);
  auto c = t.counts(300, back + 10s);
  EXPECT_EQ(c[endpointName(0)], 100);
  EXPECT_EQ(c[endpointName(1)], 200);
}

TEST(Outlier, UpGaugeComesBackWhenTheEjectionEnds) {
  // On a real hub: the ejection's end is a timer, not a pick, so the gauge must come back
  // even with no traffic at all.
  testing::Hubs h(2);
  auto cfg = outlierConfig(1, 50ms, 100);
  int64_t while_ejected = -1, after = -1;
  bool ejected_during = false;
  h.run([&] {
    Upstream up(cfg, h.registry, h.hubs);
    up.setEndpoints(testing::fakeEndpoints(up, {"a", "b"}), false);
    Endpoint& a = up.hubEndpoints(0)[0];
    up.reportFailure(a, core::Clock::now());
    ejected_during = a.ejectedAt(core::Clock::now());
    while_ejected = a.metrics().up.load();
    for (int i = 0; i < 500 && a.metrics().up.load() != 1; ++i) (void)core::sleep(10ms);
    after = a.metrics().up.load();
  });
  EXPECT_TRUE(ejected_during);
  EXPECT_EQ(while_ejected, 0);
  EXPECT_EQ(after, 1);
}

TEST(Outlier, UpGaugeComesBackAfterARepeatedEjection) {
  testing::Hubs h(1);
  auto cfg = outlierConfig(1, 30ms, 100);
  int64_t after = -1;
  int ejections = 0;
  h.run([&] {
    Upstream up(cfg, h.registry, h.hubs);
    up.setEndpoints(testing::fakeEndpoints(up, {"a", "b"}), false);
    Endpoint& a = up.hubEndpoints(0)[0];
    for (int round = 0; round < 3; ++round) {
      up.reportFailure(a, core::Clock::now());
      ejections += a.metrics().up.load() == 0 ? 1 : 0;
      for (int i = 0; i < 500 && a.ejectedAt(core::Clock::now()); ++i) (void)core::sleep(5ms);
    }
    for (int i = 0; i < 500 && a.metrics().up.load() != 1; ++i) (void)core::sleep(10ms);
    after = a.metrics().up.load();
  });
  EXPECT_EQ(ejections, 3);
  EXPECT_EQ(after, 1);
}

TEST(Outlier, AnEndpointThatLeftTheMembershipNoLongerWritesTheSharedUpGauge) {
  // The `up` series is shared by (upstream, endpoint name): once DNS (or a reload) drops an
  // endpoint, a request still in flight on it may fail and eject it, but the gauge now
  // belongs to whatever endpoint of that name joins later.
  TestUpstream t(outlierConfig(1, 10s, 100), {1, 1});
  std::shared_ptr<Endpoint> gone = t.upstream->snapshot()->endpoints[0];
  t.upstream->setEndpoints({t.upstream->snapshot()->endpoints[1]}, false);
  std::shared_ptr<Endpoint> back = t.make(gone->name());  // the same name returns
  EXPECT_EQ(&back->metrics(), &gone->metrics());
  t.upstream->setEndpoints({back, t.upstream->snapshot()->endpoints[0]}, false);
  core::TimePoint now = core::Clock::now();
  gone->ejectFor(10s, now);
  EXPECT_TRUE(gone->ejectedAt(now));
  EXPECT_EQ(back->metrics().up.load(), 1);
  back->ejectFor(10s, now);
  EXPECT_EQ(back->metrics().up.load(), 0);  // the member still writes it
}

TEST(Outlier, AnUpstreamReplacedByAReloadNoLongerWritesTheSharedUpGauge) {
  TestUpstream t(outlierConfig(1, 10s, 100), {1});
  Upstream successor(outlierConfig(1, 10s, 100), t.registry, std::vector<core::Hub*>(1, nullptr));
  successor.setEndpoints({successor.makeEndpoint(endpointName(0),
                                                 *core::SocketAddress::fromIp("127.0.0.1", 80),
                                                 1)},
                         false);
  t.upstream->stop();  // what a reload does to the upstream it replaced
  core::TimePoint now = core::Clock::now();
  t.upstream->reportFailure(t.at(0), now);  // a request that was still in flight on it
  EXPECT_TRUE(t.at(0).ejectedAt(now));
  EXPECT_EQ(successor.hubEndpoints(0)[0].metrics().up.load(), 1);
}

}  // namespace
}  // namespace greenlb::balancer
