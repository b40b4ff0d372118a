#include "metrics/history.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "metrics/families.h"
#include "tests/unit/metrics/hub_threads.h"

namespace greenlb::metrics {
namespace {

using enum HistoryField;

std::vector<float> values(const HistorySeries& s, HistoryField f) {
  std::vector<float> out;
  for (size_t i = 0; i < s.ring(f).size(); ++i) out.push_back(s.ring(f)[i]);
  return out;
}

// One round at `t` seconds recording one upstream series "app".
void round(History& h, double t, const HistoryReading& r) {
  h.beginRound(t, 1'700'000'000 + t);
  ASSERT_TRUE(h.record(HistoryKind::upstream, "", "app", r));
  h.endRound();
}

TEST(HistoryRing, KeepsTheNewestValuesOldestFirst) {
  HistoryRing<int> ring(3);
  EXPECT_TRUE(ring.empty());
  ring.push(1);
  ring.push(2);
  ASSERT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring[0], 1);
  EXPECT_EQ(ring.newest(), 2);
  for (int v = 3; v <= 7; ++v) ring.push(v);  // wraps around more than once
  ASSERT_EQ(ring.size(), 3u);
  EXPECT_EQ(ring[0], 5);
  EXPECT_EQ(ring[1], 6);
  EXPECT_EQ(ring[2], 7);
  EXPECT_EQ(ring.capacity(), 3u);
}

TEST(History, FirstReadingIsTheBaselineThenOneSampleARound) {
  History h(/*samples=*/4);
  HistoryReading r;
  r.requests = 100;
  round(h, 10, r);
  ASSERT_EQ(h.series().size(), 1u);
  EXPECT_EQ(h.series()[0]->size(), 0u);  // no rate from a single reading
  r.requests = 130;
  round(h, 11, r);
  EXPECT_EQ(values(*h.series()[0], requests), std::vector<float>{30});
  r.requests = 190;
  round(h, 13, r);  // a late round: the rate is per second of the time that passed
  EXPECT_EQ(values(*h.series()[0], requests), (std::vector<float>{30, 30}));
  EXPECT_EQ(h.round(), 3u);
  EXPECT_DOUBLE_EQ(h.lastUnixTime(), 1'700'000'013);
}

TEST(History, RingsWrapAroundKeepingTheLastSamples) {
  History h(/*samples=*/4);
  HistoryReading r;
  for (int t = 0; t <= 10; ++t) {  // 10 samples: rates 1, 2, ... 10
    r.requests += static_cast<uint64_t>(t);
    r.level = t;
    round(h, t, r);
  }
  const HistorySeries& s = *h.series()[0];
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(values(s, requests), (std::vector<float>{7, 8, 9, 10}));
  EXPECT_EQ(values(s, level), (std::vector<float>{7, 8, 9, 10}));
  EXPECT_EQ(values(s, errors), (std::vector<float>{0, 0, 0, 0}));
}

TEST(History, SumsTheCountsOfEveryHub) {
  constexpr size_t kHubs = 4;
  constexpr uint64_t kPerHub = 10'000;
  StatusCounters codes(kHubs);
  Counter retried(kHubs);
  History h;
  auto reading = [&] {
    HistoryReading r;
    r.addResponses(codes);
    r.retries = retried.value();
    return r;
  };
  round(h, 0, reading());
  // Every hub counts its own share while the history is read, as on a running proxy.
  testing::countOnHubThreads(
      kHubs,
      [&](size_t hub) {
        for (uint64_t i = 0; i < kPerHub; ++i) {
          codes.add(hub, i % 10 == 0 ? 503 : 200);
          if (i % 100 == 0) retried.add(hub);
        }
      },
      [&] { (void)reading(); });
  round(h, 2, reading());
  const HistorySeries& s = *h.series()[0];
  EXPECT_EQ(values(s, requests), std::vector<float>{kHubs * kPerHub / 2.0f});
  EXPECT_EQ(values(s, errors), std::vector<float>{kHubs * kPerHub / 10 / 2.0f});
  EXPECT_EQ(values(s, retries), std::vector<float>{kHubs * kPerHub / 100 / 2.0f});
}

TEST(History, LatencyQuantilesCoverOnlyTheRoundsRequests) {
  RequestMetrics a(2), b(2);  // one upstream reached from two listeners, two hubs each
  for (int i = 0; i < 100; ++i) a.duration.observe(0, 3.0);  // before the window: slow
  auto reading = [&] {
    HistoryReading r;
    r.addLatency(a.duration);
    r.addLatency(b.duration);
    return r;
  };
  History h;
  round(h, 0, reading());
  // In the window: 98 fast requests on both listeners and hubs, 2 slow ones.
  for (int i = 0; i < 49; ++i) {
    a.duration.observe(static_cast<size_t>(i % 2), 0.002);
    b.duration.observe(static_cast<size_t>(1 - i % 2), 0.002);
  }
  b.duration.observe(1, 0.3);
  b.duration.observe(0, 0.3);
  round(h, 1, reading());
  const HistorySeries& s = *h.series()[0];
  ASSERT_EQ(s.size(), 1u);
  EXPECT_GT(s.ring(p50)[0], 0.001f);  // the 1-2.5 ms bucket, not the 3 s ones before
  EXPECT_LE(s.ring(p50)[0], 0.0025f);
  EXPECT_GT(s.ring(p99)[0], 0.25f);  // the 250-500 ms bucket
  EXPECT_LE(s.ring(p99)[0], 0.5f);
  round(h, 2, reading());  // nothing ended: no latency, not zero latency
  EXPECT_TRUE(std::isnan(s.ring(p50)[1]));
  EXPECT_TRUE(std::isnan(s.ring(p99)[1]));
}

TEST(History, ACounterThatStartedAgainCountsFromZero) {
  History h;
  HistoryReading r;
  r.requests = 500;
  round(h, 0, r);
  r.requests = 20;  // the endpoint left and came back with fresh counters
  round(h, 1, r);
  EXPECT_EQ(values(*h.series()[0], requests), std::vector<float>{20});
}

TEST(History, KindsKeepTheirOwnFields) {
  History h;
  h.beginRound(0, 0);
  ASSERT_TRUE(h.record(HistoryKind::listener, "", "web", {}));
  ASSERT_TRUE(h.record(HistoryKind::upstream, "", "app", {}));
  ASSERT_TRUE(h.record(HistoryKind::endpoint, "app", "127.0.0.1:9001", {}));
  h.endRound();
  const auto& s = h.series();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_TRUE(s[0]->has(p99));
  EXPECT_FALSE(s[0]->has(retries));
  EXPECT_TRUE(s[1]->has(retries));
  EXPECT_FALSE(s[2]->has(p50));
  EXPECT_TRUE(s[2]->has(level));
  EXPECT_EQ(s[2]->scope(), "app");
  EXPECT_EQ(historyFieldName(HistoryKind::listener, level), "connections");
  EXPECT_EQ(historyFieldName(HistoryKind::endpoint, level), "in_flight");
  EXPECT_EQ(History::bytesPerSeries(HistoryKind::upstream, 900), 6 * 900 * sizeof(float));
  EXPECT_EQ(History::bytesPerSeries(HistoryKind::endpoint, 900), 3 * 900 * sizeof(float));
}

TEST(History, ASeriesNotRecordedInARoundIsDropped) {
  History h;
  HistoryReading r;
  h.beginRound(0, 0);
  h.record(HistoryKind::endpoint, "app", "a", r);
  h.record(HistoryKind::endpoint, "app", "b", r);
  h.endRound();
  h.beginRound(1, 1);
  h.record(HistoryKind::endpoint, "app", "b", r);
  h.endRound();
  ASSERT_EQ(h.series().size(), 1u);
  EXPECT_EQ(h.series()[0]->name(), "b");
  EXPECT_EQ(h.series()[0]->size(), 1u);
  h.beginRound(2, 2);  // "a" is back: a new series, its old samples are gone
  h.record(HistoryKind::endpoint, "app", "a", r);
  h.record(HistoryKind::endpoint, "app", "b", r);
  h.endRound();
  EXPECT_EQ(h.series()[0]->size(), 0u);
  EXPECT_EQ(h.series()[1]->size(), 2u);
}

TEST(History, KeepsAtMostMaxSeries) {
  History h(/*samples=*/8, /*max_series=*/2);
  h.beginRound(0, 0);
  EXPECT_TRUE(h.record(HistoryKind::upstream, "", "app", {}));
  EXPECT_TRUE(h.record(HistoryKind::endpoint, "app", "a", {}));
  EXPECT_FALSE(h.record(HistoryKind::endpoint, "app", "b", {}));
  EXPECT_TRUE(h.record(HistoryKind::endpoint, "app", "a", {}));  // known: still recorded
  h.endRound();
  EXPECT_EQ(h.series().size(), 2u);
  EXPECT_EQ(h.leftOut(), 1u);
}

}  // namespace
}  // namespace greenlb::metrics
