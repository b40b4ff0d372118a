// Limits (docs/balancing.md, "Limits and the pending queue"): max_connections per endpoint
// across hubs, and the queue
// of at most max_pending requests waiting for a slot, on a real hub.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "balancer/upstream.h"
#include "tests/unit/balancer/balancer_test_util.h"

namespace greenlb::balancer {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  bool got = false;
  PickFailure why = PickFailure::none;
  bool done = false;
};

// Runs body(upstream) as the main fiber with one upstream of one endpoint.
template <class Body>
void withUpstream(uint64_t max_connections, uint64_t max_pending, conf::Duration queue_timeout,
                  Body body) {
  testing::Hubs h(1);
  auto cfg = testing::upstreamConfig(conf::Balance::least_conn);
  cfg.limits.max_connections = max_connections;
  cfg.limits.max_pending = max_pending;
  cfg.timeouts.connect = queue_timeout;
  h.run([&] {
    Upstream up(cfg, h.registry, h.hubs);
    up.setEndpoints(testing::fakeEndpoints(up, {"a"}), false);
    body(up);
  });
}

// A request fiber: waits for a slot, holds it until `release` is set.
core::JoinHandle<void> request(Upstream& up, Outcome& out, bool& release) {
  return core::spawn([&up, &out, &release] {
    PickContext ctx;
    ctx.now = core::Clock::now();
    Endpoint* e = up.pickOrWait(0, ctx, &out.why);
    out.got = e != nullptr;
    out.done = true;
    if (e == nullptr) return;
    while (!release) (void)core::sleep(1ms);
    up.endRequest(0, *e);
  });
}

TEST(PendingQueue, WaitersBeyondMaxPendingFailAtOnceAndAReleaseWakesTheFirst) {
  std::vector<Outcome> out(3);
  int64_t waiting_before = -1;
  bool third_failed_at_once = false;
  withUpstream(1, 2, 300ms, [&](Upstream& up) {
    PickContext ctx;
    ctx.now = core::Clock::now();
    PickFailure why;
    Endpoint* held = up.pick(0, ctx, &why);
    ASSERT_NE(held, nullptr);
    held->beginRequest();  // the one slot is taken
    bool release = false;
    std::vector<core::JoinHandle<void>> fibers;
    for (auto& o : out) fibers.push_back(request(up, o, release));
    for (int i = 0; i < 5; ++i) core::yield();
    waiting_before = up.pending().waiting();
    third_failed_at_once = out[2].done && !out[2].got;
    up.endRequest(0, *held);  // frees the slot: the longest waiter gets it at once
    for (int i = 0; i < 5; ++i) core::yield();
    EXPECT_TRUE(out[0].done && out[0].got);
    for (int i = 0; i < 200 && !out[1].done; ++i) (void)core::sleep(5ms);
    release = true;
    for (auto& f : fibers) (void)f.join();
  });
  EXPECT_EQ(waiting_before, 2);
  EXPECT_TRUE(third_failed_at_once);
  EXPECT_EQ(out[2].why, PickFailure::limits);
  EXPECT_TRUE(out[0].got);
  // The second waited its whole queue time: the first held the slot meanwhile.
  EXPECT_FALSE(out[1].got);
  EXPECT_EQ(out[1].why, PickFailure::limits);
}

TEST(PendingQueue, ASlotFreedOnAnotherHubIsFoundByPolling) {
  Outcome out;
  withUpstream(1, 0, 2s, [&](Upstream& up) {
    PickContext ctx;
    ctx.now = core::Clock::now();
    PickFailure why;
    Endpoint* held = up.pick(0, ctx, &why);
    held->beginRequest();
    bool release = true;
    auto f = request(up, out, release);
    (void)core::sleep(20ms);
    EXPECT_FALSE(out.done);
    held->endRequest();  // as another hub would: no wake-up on this hub
    (void)f.join();
  });
  EXPECT_TRUE(out.got);
}

TEST(PendingQueue, ZeroMaxPendingAdmitsEveryWaiter) {
  std::vector<Outcome> out(20);
  int64_t waiting = 0;
  withUpstream(1, 0, 2s, [&](Upstream& up) {
    PickContext ctx;
    ctx.now = core::Clock::now();
    PickFailure why;
    Endpoint* held = up.pick(0, ctx, &why);
    held->beginRequest();
    bool release = true;  // each takes the slot and gives it back at once
    std::vector<core::JoinHandle<void>> fibers;
    for (auto& o : out) fibers.push_back(request(up, o, release));
    for (int i = 0; i < 5; ++i) core::yield();
    waiting = up.pending().waiting();
    up.endRequest(0, *held);
    for (auto& f : fibers) (void)f.join();
  });
  EXPECT_EQ(waiting, 20);
  for (auto& o : out) EXPECT_TRUE(o.got);
}

TEST(PendingQueue, WithoutMaxConnectionsNothingWaits) {
  withUpstream(0, 1, 1s, [&](Upstream& up) {
    PickContext ctx;
    ctx.now = core::Clock::now();
    PickFailure why;
    for (int i = 0; i < 100; ++i) {
      Endpoint* e = up.pickOrWait(0, ctx, &why);
      ASSERT_NE(e, nullptr);
    }
    EXPECT_EQ(up.pending().waiting(), 0);
    EXPECT_EQ(up.hubEndpoints(0)[0].inFlight(), 100);
  });
}

}  // namespace
}  // namespace greenlb::balancer
