// Maglev: table size, balance, weights, minimal disruption when an endpoint leaves or is
// out of rotation, retries, requests without a key.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "balancer/hash_key.h"
#include "balancer/maglev.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using testing::endpointName;
using testing::TestUpstream;
using testing::upstreamConfig;

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

std::vector<uint64_t> slotCounts(const MaglevTable& table) {
  std::vector<uint64_t> counts(table.endpoints(), 0);
  for (uint64_t s = 0; s < table.size(); ++s) ++counts[table.at(s)];
  return counts;
}

// The endpoint name each of `n` keys goes to.
std::vector<std::string> assign(TestUpstream& t, int n) {
  std::vector<std::string> out;
  PickContext ctx;
  ctx.now = core::Clock::now();
  ctx.has_hash = true;
  for (int k = 0; k < n; ++k) {
    ctx.hash = hashBytes("user-" + std::to_string(k));
    out.push_back(t.pickName(ctx));
  }
  return out;
}

TEST(Maglev, TableSizeIsPrimeAndAtLeastHundredTimesTheEndpoints) {
  for (size_t n : {1, 3, 10, 100, 655, 656, 1000, 5000}) {
    uint64_t m = MaglevTable::sizeFor(n);
    EXPECT_TRUE(isPrime(m)) << n;
    EXPECT_GE(m, 100 * n) << n;
    EXPECT_GE(m, MaglevTable::kMinSize) << n;
  }
  EXPECT_EQ(MaglevTable::sizeFor(10), 65537u);
  EXPECT_EQ(MaglevTable::sizeFor(1000), 100003u);
}

TEST(Maglev, EqualWeightsSplitTheTableWithinOneSlot) {
  TestUpstream t(upstreamConfig(conf::Balance::maglev), std::vector<uint32_t>(10, 1));
  const MaglevTable& table = *t.upstream->hubEndpoints(0).maglev;
  std::vector<uint64_t> c = slotCounts(table);
  auto [lo, hi] = std::minmax_element(c.begin(), c.end());
  EXPECT_LE(*hi - *lo, 1u);  // each takes one slot a round: well within 1%
}

TEST(Maglev, WeightsSetTheShareOfSlots) {
  TestUpstream t(upstreamConfig(conf::Balance::maglev), {1, 2, 3, 4});
  const MaglevTable& table = *t.upstream->hubEndpoints(0).maglev;
  std::vector<uint64_t> c = slotCounts(table);
  for (size_t i = 0; i < 4; ++i) {
    double want = static_cast<double>(table.size()) * static_cast<double>(i + 1) / 10;
    EXPECT_NEAR(static_cast<double>(c[i]), want, want * 0.01) << i;
  }
}

TEST(Maglev, KeysAreBalancedAndSticky) {
  TestUpstream t(upstreamConfig(conf::Balance::maglev), std::vector<uint32_t>(10, 1));
  std::vector<std::string> first = assign(t, 10000);
  EXPECT_EQ(assign(t, 10000), first);  // the same key, the same endpoint
  std::map<std::string, int> per;
  for (const auto& n : first) ++per[n];
  ASSERT_EQ(per.size(), 10u);
  for (auto& [name, count] : per) EXPECT_NEAR(count, 1000, 150) << name;
}

TEST(Maglev, RemovingOneOfTenMovesOnlyItsKeys) {
  TestUpstream t(upstreamConfig(conf::Balance::maglev), std::vector<uint32_t>(10, 1));
  std::vector<std::string> before = assign(t, 10000);
  // Endpoint 3 leaves (a new membership, a new table: what DNS discovery does).
  auto set = t.upstream->snapshot();
  std::vector<std::shared_ptr<Endpoint>> rest;
  for (const auto& e : set->endpoints) {
    if (e->name() != endpointName(3)) rest.push_back(e);
  }
  t.upstream->setEndpoints(rest, false);
  std::vector<std::string> after = assign(t, 10000);
  int moved = 0, moved_elsewhere = 0, on_removed = 0;
  for (size_t k = 0; k < before.size(); ++k) {
    on_removed += before[k] == endpointName(3) ? 1 : 0;
    if (before[k] == after[k]) continue;
    ++moved;
    if (before[k] != endpointName(3)) ++moved_elsewhere;
  }
  EXPECT_GT(on_removed, 0);
  EXPECT_LE(moved, 1200);  // <= 12% of the keys (its own ~10% plus Maglev's small churn)
  EXPECT_LE(moved_elsewhere, 200);
  std::printf("maglev: removing 1 of 10 moved %d of 10000 keys (%d of the removed endpoint's "
              "%d, %d others)\n", moved, moved - moved_elsewhere, on_removed, moved_elsewhere);
}

TEST(Maglev, AnEndpointOutOfRotationMovesExactlyItsKeysAndGetsThemBack) {
  TestUpstream t(upstreamConfig(conf::Balance::maglev), std::vector<uint32_t>(10, 1));
  std::vector<std::string> before = assign(t, 10000);
  core::TimePoint now = core::Clock::now();
  t.at(5).setHealthy(false, now);
  std::vector<std::string> during = assign(t, 10000);
  for (size_t k = 0; k < before.size(); ++k) {
    if (before[k] == endpointName(5)) {
      EXPECT_NE(during[k], endpointName(5));
    } else {
      EXPECT_EQ(during[k], before[k]) << k;  // nobody else's key moves
    }
  }
  t.at(5).setHealthy(true, now);
  EXPECT_EQ(assign(t, 10000), before);
}

TEST(Maglev, ARetryGoesToAnotherEndpointDeterministically) {
  TestUpstream t(upstreamConfig(conf::Balance::maglev), std::vector<uint32_t>(5, 1));
  PickContext ctx;
  ctx.now = core::Clock::now();
  ctx.has_hash = true;
  ctx.hash = hashBytes("alice");
  PickFailure why;
  Endpoint* first = t.upstream->pick(0, ctx, &why);
  ctx.addTried(first);
  Endpoint* second = t.upstream->pick(0, ctx, &why);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second, first);
  EXPECT_EQ(t.upstream->pick(0, ctx, &why), second);
}

TEST(Maglev, SameMembershipSameTable) {
  // Every greenlb instance builds the same table: a key goes to the same endpoint
  // whichever instance (or hub) receives it.
  TestUpstream a(upstreamConfig(conf::Balance::maglev), {1, 2, 1, 1}, 2);
  TestUpstream b(upstreamConfig(conf::Balance::maglev), {1, 2, 1, 1});
  const MaglevTable& ta = *a.upstream->hubEndpoints(0).maglev;
  const MaglevTable& tb = *b.upstream->hubEndpoints(0).maglev;
  ASSERT_EQ(ta.size(), tb.size());
  for (uint64_t s = 0; s < ta.size(); ++s) ASSERT_EQ(ta.at(s), tb.at(s)) << s;
  EXPECT_EQ(a.upstream->hubEndpoints(1).maglev.get(), &ta);  // one table, shared by hubs
}

TEST(Maglev, RequestsWithoutAKeySpreadOverAll) {
  TestUpstream t(upstreamConfig(conf::Balance::maglev), {1, 1, 1, 1});
  auto c = t.counts(8000);  // PickContext::has_hash false
  ASSERT_EQ(c.size(), 4u);
  for (auto& [name, count] : c) EXPECT_NEAR(count, 2000, 250) << name;
}

TEST(Maglev, MostEndpointsOutStillFindsTheOneLeft) {
  std::vector<uint32_t> weights(200, 1);
  TestUpstream t(upstreamConfig(conf::Balance::maglev), weights);
  core::TimePoint now = core::Clock::now();
  for (size_t i = 0; i < 200; ++i) {
    if (i != 17) t.at(i).setHealthy(false, now);
  }
  std::vector<std::string> keys = assign(t, 500);
  for (const auto& n : keys) EXPECT_EQ(n, endpointName(17));
}

}  // namespace
}  // namespace greenlb::balancer
