#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "core/hub.h"
#include "core/timeout.h"
#include "run_main.h"

namespace greenlb::core {
namespace {

using testing::runMain;

TEST(Fiber, RunsInSpawnOrderAndYieldsFairly) {
  std::vector<std::string> trace;
  runMain([&] {
    auto a = spawn([&] {
      for (int i = 0; i < 3; ++i) {
        trace.push_back(std::string("a").append(std::to_string(i)));
        yield();
      }
    });
    auto b = spawn([&] {
      for (int i = 0; i < 3; ++i) {
        trace.push_back(std::string("b").append(std::to_string(i)));
        yield();
      }
    });
    ASSERT_TRUE(a.join().ok());
    ASSERT_TRUE(b.join().ok());
  });
  EXPECT_EQ(trace, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
}

TEST(Fiber, JoinReturnsTheResult) {
  runMain([] {
    auto h = spawn([] { return 42; });
    Result<int> r = h.join();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 42);
    EXPECT_TRUE(h.done());
  });
}

TEST(Fiber, JoinRethrowsTheFibersException) {
  runMain([] {
    auto h = spawn([]() -> int { throw std::runtime_error("boom"); });
    EXPECT_THROW(
        {
          try {
            (void)h.join();
          } catch (const std::runtime_error& e) {
            EXPECT_STREQ(e.what(), "boom");
            throw;
          }
        },
        std::runtime_error);
  });
}

TEST(Fiber, DetachedExceptionIsCountedNotFatal) {
  uint64_t uncaught = 0;
  runMain([&] {
    currentHub().spawnDetached("thrower", [] { throw std::logic_error("x"); });
    yield();
    yield();
    uncaught = currentHub().counters().uncaught.load();
  });
  EXPECT_EQ(uncaught, 1u);
}

TEST(Fiber, KillBeforeStartNeverRuns) {
  bool ran = false;
  runMain([&] {
    auto h = spawn([&] { ran = true; });
    h.kill();
    Status s = h.join();
    EXPECT_EQ(s.error().code, ECANCELED);
  });
  EXPECT_FALSE(ran);
}

TEST(Fiber, KillWakesASleeper) {
  runMain([] {
    Status seen;
    auto h = spawn([&] { seen = sleep(std::chrono::hours(1)); });
    yield();  // let it park
    h.kill();
    ASSERT_TRUE(h.join().ok());
    EXPECT_EQ(seen.error().code, ECANCELED);
  });
}

TEST(Fiber, KillIsStickyForLaterWaits) {
  runMain([] {
    int failures = 0;
    auto h = spawn([&] {
      for (int i = 0; i < 3; ++i) {
        if (!sleep(1h).ok()) ++failures;
      }
    });
    yield();
    h.kill();
    ASSERT_TRUE(h.join().ok());
    EXPECT_EQ(failures, 3);
  });
}

TEST(Fiber, SpawnAfterRunsLaterAndCanBeCancelled) {
  runMain([] {
    std::vector<int> order;
    auto late = spawnAfter(20ms, [&] { order.push_back(2); });
    auto never = spawnAfter(1h, [&] { order.push_back(3); });
    order.push_back(1);
    ASSERT_TRUE(late.join().ok());
    never.kill();
    (void)never.join();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
  });
}

TEST(Fiber, SleepParksForAtLeastTheDuration) {
  runMain([] {
    auto start = Clock::now();
    ASSERT_TRUE(sleep(30ms).ok());
    EXPECT_GE(Clock::now() - start, 30ms);
  });
}

TEST(Fiber, IntrospectionListsNamesAndStates) {
  runMain([] {
    Hub& hub = currentHub();
    auto sleeper = hub.spawn([] { (void)sleep(1h); }, "sleeper");
    yield();
    std::vector<std::string> seen;
    hub.forEachFiber([&](const Fiber& f) {
      std::string entry = f.name();
      entry.append(":").append(toString(f.state()));
      seen.push_back(entry);
    });
    EXPECT_NE(std::find(seen.begin(), seen.end(), "sleeper:parked"), seen.end());
    EXPECT_NE(std::find(seen.begin(), seen.end(), "main:running"), seen.end());
    EXPECT_EQ(hub.counters().fibers.load(), 2u);
    sleeper.kill();
    (void)sleeper.join();
  });
}

TEST(Fiber, ManyFibersReuseStacks) {
  runMain([] {
    Hub& hub = currentHub();
    for (int round = 0; round < 10; ++round) {
      std::vector<JoinHandle<int>> hs;
      for (int i = 0; i < 100; ++i) hs.push_back(spawn([i] { return i; }));
      int sum = 0;
      for (auto& h : hs) sum += *h.join();
      EXPECT_EQ(sum, 4950);
    }
    // 100 concurrent at most (+ main): stacks are recycled, not mapped per spawn.
    EXPECT_LE(hub.stackStats().mapped, 102u);
  });
}

TEST(Fiber, SpawnIsRefusedAtTheStackLimit) {
  RuntimeOptions o;
  o.hubs = 1;
  o.max_stacks = 4;  // main + 3
  Runtime rt(o);
  rt.run([] {
    std::vector<JoinHandle<void>> hs;
    for (int i = 0; i < 3; ++i) hs.push_back(spawn([] { (void)sleep(1h); }));
    Fiber* refused = currentHub().spawnDetached("extra", [] {});
    EXPECT_EQ(refused, nullptr);
    auto h = spawn([] {});
    EXPECT_EQ(h.join().error().code, EAGAIN);
    EXPECT_EQ(currentHub().counters().refused.load(), 2u);
    for (auto& x : hs) x.kill();
  });
}

// Recurses until `limit`: deep enough to run off any fiber stack.
[[gnu::noinline]] int recurse(int depth, int limit) {
  volatile char pad[1024];
  pad[0] = static_cast<char>(depth);
  if (depth == limit) return pad[0];
  return recurse(depth + 1, limit) + pad[0];
}

TEST(FiberDeathTest, StackOverflowIsReportedAsSuch) {
#if defined(GREENLB_SANITIZE_BUILD)
  GTEST_SKIP() << "sanitizers instrument the stack and report overflows themselves";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(runMain([] {
                 currentHub().spawnDetached("deep", [] { (void)recurse(0, 1 << 20); });
                 yield();
               }),
               "stack overflow in fiber 'deep'.*guard page");
}

TEST(StackPool, TrimsADeepStackWhenItComesBack) {
  StackPool pool(256 * 1024, 0, 8);
  Stack s = pool.allocate();
  ASSERT_NE(s.mapping, nullptr);
  std::memset(s.low(), 1, s.usable());  // touched all the way down
  pool.release(s, s.low());
  EXPECT_EQ(pool.stats().trimmed, 1u);
  Stack again = pool.allocate();
  EXPECT_EQ(again.mapping, s.mapping);  // LIFO reuse
  // The trimmed part reads back as zero pages.
  EXPECT_EQ(again.low()[0], 0);
  EXPECT_EQ(again.high()[-1], 1);
  pool.release(again, again.high() - 100);
  EXPECT_EQ(pool.stats().trimmed, 1u);  // shallow: no madvise
}

}  // namespace
}  // namespace greenlb::core
