#include "metrics/sharded.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tests/unit/metrics/hub_threads.h"

namespace greenlb::metrics {
namespace {

constexpr size_t kThreads = 4;
constexpr uint64_t kAdds = 100'000;

TEST(Counter, SumsEveryHubsAddsExactly) {
  Counter c(kThreads);
  uint64_t last_seen = 0;
  bool monotonic = true;
  testing::countOnHubThreads(
      kThreads,
      [&](size_t hub) {
        for (uint64_t i = 0; i < kAdds; ++i) c.add(hub);
      },
      [&] {
        uint64_t v = c.value();
        monotonic = monotonic && v >= last_seen;
        last_seen = v;
      });
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(c.value(), kThreads * kAdds);
}

TEST(Counter, AddsN) {
  Counter c(2);
  c.add(0, 5);
  c.add(1, 7);
  c.add(1);
  EXPECT_EQ(c.value(), 13u);
}

TEST(Counter, HubCountIsChecked) {
  EXPECT_THROW(Counter(0), std::invalid_argument);
  EXPECT_THROW(Counter(kMaxHubs + 1), std::invalid_argument);
  Counter max(kMaxHubs);
  max.add(kMaxHubs - 1, 3);
  EXPECT_EQ(max.value(), 3u);
}

TEST(Gauge, SumsSignedDeltasAcrossHubs) {
  Gauge g(kThreads);
  testing::countOnHubThreads(
      kThreads,
      [&](size_t hub) {
        // Each hub opens kAdds and closes all but `hub` of them.
        for (uint64_t i = 0; i < kAdds; ++i) g.add(hub, 1);
        for (uint64_t i = 0; i < kAdds - hub; ++i) g.add(hub, -1);
      },
      [&] { (void)g.value(); });
  EXPECT_EQ(g.value(), 0 + 1 + 2 + 3);
}

TEST(Gauge, OneHubsCellMayBeNegative) {
  Gauge g(2);
  g.add(0, 5);
  g.add(1, -3);
  EXPECT_EQ(g.value(), 2);
  g.add(0, -10);
  EXPECT_EQ(g.value(), -8);
}

TEST(Histogram, BucketsSumAndCountAreExact) {
  const double bounds[] = {1, 2, 5};
  Histogram h(1, bounds);
  // A value equal to a bound belongs to that bound's bucket (le = "less or equal").
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 7.0}) h.observe(0, v);
  h.observe(0, std::nan(""));  // ignored
  HistogramSnapshot s = h.snapshot();
  ASSERT_EQ(s.upper_bounds.size(), 3u);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.sum, 15.0);
  EXPECT_EQ(h.bucketCount(0), 2u);  // not cumulative
  EXPECT_EQ(h.bucketCount(2), 1u);
  EXPECT_EQ(h.bucketCount(3), 1u);  // +Inf
}

TEST(Histogram, SumsEveryHubsObservationsExactly) {
  Histogram h(kThreads, kLatencyBuckets);
  testing::countOnHubThreads(
      kThreads,
      [&](size_t hub) {
        // Binary fractions, so that the sums are exact whatever the order.
        for (uint64_t i = 0; i < kAdds; ++i) h.observe(hub, i % 2 == 0 ? 0.0078125 : 0.5);
      },
      [&] {
        HistogramSnapshot s = h.snapshot();
        EXPECT_EQ(s.cumulative.back(), s.count);
      });
  HistogramSnapshot s = h.snapshot();
  EXPECT_EQ(s.count, kThreads * kAdds);
  EXPECT_EQ(s.sum, kThreads * (kAdds / 2) * (0.0078125 + 0.5));
  // 0.0078125 lands in le=0.01 (index 4); 0.5 in le=0.5 (index 9).
  EXPECT_EQ(s.cumulative[3], 0u);
  EXPECT_EQ(s.cumulative[4], kThreads * kAdds / 2);
  EXPECT_EQ(s.cumulative[8], kThreads * kAdds / 2);
  EXPECT_EQ(s.cumulative[9], kThreads * kAdds);
  EXPECT_EQ(s.cumulative.size(), std::size(kLatencyBuckets) + 1);
}

TEST(Histogram, RejectsBadBounds) {
  const double descending[] = {2, 1};
  const double infinite[] = {1, INFINITY};
  const double equal[] = {1, 1};
  EXPECT_THROW(Histogram(1, descending), std::invalid_argument);
  EXPECT_THROW(Histogram(1, infinite), std::invalid_argument);
  EXPECT_THROW(Histogram(1, equal), std::invalid_argument);
}

std::vector<std::pair<int, uint64_t>> totals(const StatusCounters& s) {
  std::vector<std::pair<int, uint64_t>> out;
  s.forEach([&](int code, uint64_t total) { out.emplace_back(code, total); });
  return out;
}

TEST(StatusCounters, CountsExactCodesAndVisitsOnlyThoseSeen) {
  StatusCounters s(2);
  EXPECT_TRUE(totals(s).empty());
  s.add(0, 200);
  s.add(1, 200);
  s.add(1, 200);
  s.add(0, 404);
  s.add(0, 100);
  s.add(1, 599);
  s.add(0, 99);  // out of range: the "other" slot, visited last
  s.add(0, 600);
  s.add(1, -1);
  EXPECT_EQ(totals(s), (std::vector<std::pair<int, uint64_t>>{
                           {100, 1}, {200, 3}, {404, 1}, {599, 1}, {0, 3}}));
  EXPECT_EQ(s.value(200), 3u);
  EXPECT_EQ(s.value(StatusCounters::kOtherStatus), 3u);
  EXPECT_EQ(s.value(500), 0u);
  // Ranges and the grand total (the "other" slot included), over both hubs.
  EXPECT_EQ(s.total(), 9u);
  EXPECT_EQ(s.sum(500, 599), 1u);
  EXPECT_EQ(s.sum(200, 499), 4u);
  EXPECT_EQ(s.sum(0, 1000), 6u);  // clamped to 100..599: the other slot is not a code
}

TEST(StatusCounters, SumsEveryHubsAddsExactly) {
  StatusCounters s(kThreads);
  testing::countOnHubThreads(
      kThreads,
      [&](size_t hub) {
        for (uint64_t i = 0; i < kAdds; ++i) s.add(hub, i % 4 == 0 ? 503 : 200);
      },
      [&] { (void)totals(s); });
  EXPECT_EQ(totals(s), (std::vector<std::pair<int, uint64_t>>{{200, kThreads * kAdds * 3 / 4},
                                                              {503, kThreads * kAdds / 4}}));
}

}  // namespace
}  // namespace greenlb::metrics
