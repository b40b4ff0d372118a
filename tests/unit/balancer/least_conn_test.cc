// least_conn: in-flight per unit of weight, counted across ALL hubs (one atomic per
// endpoint), ties broken by smooth weighted round robin.
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using testing::endpointName;
using testing::TestUpstream;
using testing::upstreamConfig;

Endpoint* pickOn(TestUpstream& t, size_t hub) {
  PickContext ctx;
  ctx.now = core::Clock::now();
  PickFailure why;
  return t.upstream->pick(hub, ctx, &why);
}

TEST(LeastConn, IdleTiesAreRoundRobin) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {1, 1, 1});
  std::string seq;
  for (int i = 0; i < 6; ++i) seq += pickOn(t, 0)->name().substr(7, 1);
  EXPECT_EQ(seq, "123123");
}

TEST(LeastConn, IdleTiesFollowWeightsSmoothly) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {5, 1, 1});
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += pickOn(t, 0)->name().substr(7, 1);
  EXPECT_EQ(seq, "1121311");  // nginx: a a b a c a a
}

TEST(LeastConn, TiesAmongTheLeastLoadedOnlyAreRoundRobin) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {1, 1, 1});
  t.at(1).beginRequest();
  std::string seq;
  for (int i = 0; i < 6; ++i) seq += pickOn(t, 0)->name().substr(7, 1);
  EXPECT_EQ(seq, "131313");
}

TEST(LeastConn, InFlightOnHubOneSteersHubZero) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {1, 1, 1}, 2);
  // Hub 1 starts two requests; they go to two different endpoints.
  Endpoint* a = pickOn(t, 1);
  a->beginRequest();
  Endpoint* b = pickOn(t, 1);
  b->beginRequest();
  ASSERT_NE(a, b);
  // Hub 0 has sent nothing yet, but it sees hub 1's requests: the third endpoint, always.
  for (int i = 0; i < 10; ++i) {
    Endpoint* c = pickOn(t, 0);
    EXPECT_NE(c, a);
    EXPECT_NE(c, b);
  }
  a->endRequest();  // a is idle again: tied with the third, round robin between them
  Endpoint* first = pickOn(t, 0);
  Endpoint* second = pickOn(t, 0);
  EXPECT_NE(first, second);
  EXPECT_NE(first, b);
  EXPECT_NE(second, b);
}

TEST(LeastConn, LoadIsDividedByWeight) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {3, 1});
  // a: 2 in flight / weight 3 < b: 1 / 1.
  t.at(0).beginRequest();
  t.at(0).beginRequest();
  t.at(1).beginRequest();
  EXPECT_EQ(pickOn(t, 0), &t.at(0));
  t.at(0).beginRequest();  // a: 3/3 = b: 1/1: tied, weighted round robin (3:1)
  int a = 0;
  for (int i = 0; i < 400; ++i) a += pickOn(t, 0) == &t.at(0) ? 1 : 0;
  EXPECT_EQ(a, 300);
}

// Two hubs send requests in turn; `slow` keeps each request 20 ticks, the others 1: the
// slow endpoint ends up with far fewer requests, whichever hub sent them.
TEST(LeastConn, ASlowEndpointGetsFewerRequestsFromEveryHub) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {1, 1, 1}, 2);
  Endpoint* slow = &t.at(0);
  std::deque<std::pair<int, Endpoint*>> active;  // (ends at tick, endpoint)
  int per_endpoint[3] = {0, 0, 0};
  for (int tick = 0; tick < 3000; ++tick) {
    while (!active.empty() && active.front().first <= tick) {
      active.front().second->endRequest();
      active.pop_front();
    }
    Endpoint* e = pickOn(t, static_cast<size_t>(tick % 2));
    e->beginRequest();
    ++per_endpoint[e->name()[7] - '1'];
    int ends = tick + (e == slow ? 20 : 2);
    auto at = active.begin();
    while (at != active.end() && at->first <= ends) ++at;
    active.insert(at, {ends, e});
  }
  for (auto& [ends, e] : active) e->endRequest();
  EXPECT_LT(per_endpoint[0] * 4, per_endpoint[1]);
  EXPECT_LT(per_endpoint[0] * 4, per_endpoint[2]);
  EXPECT_NEAR(per_endpoint[1], per_endpoint[2], 3000 / 20);
}

// Real threads as the hubs: counts stay exact under concurrent begin/end (TSan checks
// the picking reads nothing but atomics from shared state).
TEST(LeastConn, ConcurrentHubsKeepInFlightExact) {
  TestUpstream t(upstreamConfig(conf::Balance::least_conn), {1, 1, 1, 1}, 2);
  std::vector<std::thread> hubs;
  for (size_t hub = 0; hub < 2; ++hub) {
    hubs.emplace_back([&t, hub] {
      std::vector<Endpoint*> held;
      for (int i = 0; i < 20000; ++i) {
        Endpoint* e = pickOn(t, hub);
        e->beginRequest();
        held.push_back(e);
        if (held.size() == 3) {
          for (Endpoint* h : held) h->endRequest();
          held.clear();
        }
      }
      for (Endpoint* h : held) h->endRequest();
    });
  }
  for (auto& h : hubs) h.join();
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(t.at(i).inFlight(), 0);
}

}  // namespace
}  // namespace greenlb::balancer
